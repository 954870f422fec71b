import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Sensors get a small integer key so a reading row is 4 + 8 + 8 + 2 bytes of payload. Readings are
 * range-partitioned by day on `ts`; the primary key (sensor_key, ts) is the per-sensor history index
 * (scanned backwards for newest-first) and makes a retried batch idempotent. BRIN on `ts` serves
 * time-range scans across sensors at almost no write cost.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    create table sensors (
      key serial primary key,
      id text not null unique,
      config jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`
  yield* sql`
    create table readings (
      sensor_key int4 not null,
      ts timestamptz not null,
      value float8 not null,
      quality int2 not null default 0,
      primary key (sensor_key, ts)
    ) partition by range (ts)`
  yield* sql`create table readings_default partition of readings default`
  yield* sql`create index readings_ts_brin on readings using brin (ts)`
  yield* sql`
    create table sensor_state (
      sensor_key int4 primary key references sensors(key) on delete cascade,
      version int8 not null,
      snapshot jsonb not null,
      last_seen timestamptz,
      updated_at timestamptz not null default now()
    )`
  yield* sql`create index sensor_state_last_seen on sensor_state (last_seen)`
  yield* sql`
    create or replace function flowmesh_ensure_partition(day date) returns boolean
    language plpgsql as $$
    declare
      part text := 'readings_' || to_char(day, 'YYYYMMDD');
    begin
      if to_regclass(part) is not null then
        return false;
      end if;
      execute format(
        'create table %I partition of readings for values from (%L) to (%L)',
        part, (day::timestamp at time zone 'UTC'), ((day + 1)::timestamp at time zone 'UTC'));
      return true;
    exception when duplicate_table then
      return false;
    end $$`
})
