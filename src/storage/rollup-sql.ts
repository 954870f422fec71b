/**
 * The rollup job's statement. Every writer flush records, in its own transaction, exactly the rows
 * its insert stored (`returning`: a duplicate or a retried row that conflicted is not among them) as
 * one `rollup_marks` row of arrays. The job takes a batch of marks, folds their rows into per-bucket
 * partial aggregates and merges those into the 1 min, 1 h and 1 d tiers, deleting the marks in the
 * same statement. Every stored reading is therefore counted in each tier exactly once, whenever it
 * arrived (a late reading merges into its closed bucket), and each bucket equals a recomputation
 * from its raw readings: count, min, max, first, last and the suspect counts exactly, the sum up to
 * float rounding (the additions happen in another order). Buckets are UTC. The job never reads
 * `readings`, so its cost follows the rows ingested, not the rows stored.
 */

/** Suspect flag bits (domain/reasons.ts) and the columns counting them. */
export const SUSPECT_COLUMNS = [
  ["spike", 1],
  ["rate_of_change", 2],
  ["stuck", 4],
  ["out_of_range", 8]
] as const

const COUNTS = ["suspect", ...SUSPECT_COLUMNS.map(([c]) => c)]

export const ROLLUP_COLUMNS = `n, lo, hi, total, first_ts, first_value, last_ts, last_value, ${COUNTS.join(", ")}`

/** Partial aggregates of `source` (itself partial aggregates) per bucket of `width`. */
const fold = (source: string, width: string) => `
  select k, date_bin('${width}', bucket, timestamptz 'epoch') as bucket, sum(n)::int4 as n, min(lo) as lo, max(hi) as hi,
    sum(total) as total, min(first_ts) as first_ts, (min(array[extract(epoch from first_ts)::float8, first_value]))[2] as first_value,
    max(last_ts) as last_ts, (max(array[extract(epoch from last_ts)::float8, last_value]))[2] as last_value,
    ${COUNTS.map((c) => `sum(${c})::int4 as ${c}`).join(", ")}
  from ${source} group by 1, 2`

/** Merges partial aggregates into a tier: a bucket seen for the first time is inserted as it is. */
const merge = (table: string, source: string) => `
  insert into ${table} as r (sensor_key, bucket, ${ROLLUP_COLUMNS})
  select k, bucket, ${ROLLUP_COLUMNS} from ${source}
  on conflict (sensor_key, bucket) do update set
    n = r.n + excluded.n, lo = least(r.lo, excluded.lo), hi = greatest(r.hi, excluded.hi), total = r.total + excluded.total,
    first_value = case when excluded.first_ts < r.first_ts then excluded.first_value else r.first_value end,
    first_ts = least(r.first_ts, excluded.first_ts),
    last_value = case when excluded.last_ts > r.last_ts then excluded.last_value else r.last_value end,
    last_ts = greatest(r.last_ts, excluded.last_ts),
    ${COUNTS.map((c) => `${c} = r.${c} + excluded.${c}`).join(", ")}`

/**
 * Takes (deletes) up to $1 marks, oldest first, and merges their rows into the three tiers; answers
 * how many marks, rows and buckets per tier it handled.
 */
export const ROLLUP_SQL = `
with taken as (
  delete from rollup_marks where id in (select id from rollup_marks order by id limit $1)
  returning keys, ts, vals, quality
),
raw as (
  select u.k, u.t as bucket, 1 as n, u.v as lo, u.v as hi, u.v as total, u.t as first_ts, u.v as first_value,
    u.t as last_ts, u.v as last_value, (u.q <> 0)::int as suspect,
    ${SUSPECT_COLUMNS.map(([c, bit]) => `(u.q & ${bit} <> 0)::int as ${c}`).join(", ")}
  from taken cross join lateral unnest(taken.keys, taken.ts, taken.vals, taken.quality) as u(k, t, v, q)
),
m as (${fold("raw", "1 minute")}),
h as (${fold("m", "1 hour")}),
d as (${fold("h", "1 day")}),
mm as (${merge("rollup_1m", "m")}),
mh as (${merge("rollup_1h", "h")}),
md as (${merge("rollup_1d", "d")})
select (select count(*) from taken)::int4 as marks, (select count(*) from raw)::int4 as rows,
  (select count(*) from m)::int4 as minutes, (select count(*) from h)::int4 as hours, (select count(*) from d)::int4 as days`

/** How far behind the job is, for the gauges. */
export const PENDING_SQL = `
select count(*)::int4 as pending, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as lag
from rollup_marks`
