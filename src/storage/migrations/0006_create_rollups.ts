import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Rollups: per sensor, buckets of 1 minute, 1 hour and 1 day, each range-partitioned on `bucket`
 * (by day, month and year) so retention drops whole partitions per tier, with no default partition
 * anywhere retention could not reach.
 *
 * `rollup_marks` is how committed readings reach them: every writer flush appends, in its own
 * transaction, one row holding the rows its insert stored, as four arrays (a mark costs the flush
 * one row, not one per reading). The rollup job takes marks and merges their rows into the tiers
 * (storage/rollup-sql.ts).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    create table rollup_marks (
      id bigserial primary key,
      created_at timestamptz not null default now(),
      keys int4[] not null,
      ts timestamptz[] not null,
      vals float8[] not null,
      quality int2[] not null
    )`
  // Arrays of floats do not compress: storing them out of line uncompressed saves the flush the attempt.
  yield* sql`
    alter table rollup_marks
      alter column keys set storage external, alter column ts set storage external,
      alter column vals set storage external, alter column quality set storage external`
  for (const [tier, span] of [["1m", "day"], ["1h", "month"], ["1d", "year"]] as const) {
    yield* sql.unsafe(`
      create table rollup_${tier} (
        sensor_key int4 not null,
        bucket timestamptz not null,
        n int4 not null,
        lo float8 not null,
        hi float8 not null,
        total float8 not null,
        first_ts timestamptz not null,
        first_value float8 not null,
        last_ts timestamptz not null,
        last_value float8 not null,
        suspect int4 not null,
        spike int4 not null,
        rate_of_change int4 not null,
        stuck int4 not null,
        out_of_range int4 not null,
        primary key (sensor_key, bucket)
      ) partition by range (bucket)`)
    yield* sql.unsafe(`comment on table rollup_${tier} is 'flowmesh rollups, one row per sensor and ${tier} bucket; partitions by ${span}'`)
  }
  yield* sql`
    create or replace function flowmesh_ensure_range_partition(parent text, part text, lo timestamptz, hi timestamptz)
    returns boolean language plpgsql as $$
    begin
      if to_regclass(part) is not null then
        return false;
      end if;
      execute format('create table %I partition of %I for values from (%L) to (%L)', part, parent, lo, hi);
      return true;
    exception when duplicate_table then
      return false;
    end $$`
})
