/**
 * Aggregates read from the rollup tiers: per sensor, buckets of the asked interval folded from the
 * tier the plan names (domain/aggregate-plan.ts), in the asked time zone (fixed intervals aligned
 * to local midnight, days, ISO weeks and months by the zone's calendar, DST-correct), ordered by
 * sensor id then bucket and keyset-paginated on that pair. A bucket with no readings is absent.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Stream } from "effect"
import type { AggregatePlan, Tier } from "../domain/aggregate-plan.js"
import { DatabaseUnavailable, orUnavailable } from "./errors.js"
import { SUSPECT_COLUMNS } from "./rollup-sql.js"

export interface AggregateRow {
  readonly sensor: string
  /** Epoch ms of the bucket's start and end (a local day across a DST change is 23 or 25 hours). */
  readonly start: number
  readonly end: number
  readonly n: number
  readonly lo: number
  readonly hi: number
  readonly total: number
  readonly first_ts: number
  readonly first_value: number
  readonly last_ts: number
  readonly last_value: number
  readonly suspect: number
  readonly spike: number
  readonly rate_of_change: number
  readonly stuck: number
  readonly out_of_range: number
}

/** Which sensors: internal ids, or a tenant's ids under an internal prefix. */
export type SensorSelection =
  | { readonly kind: "ids"; readonly ids: ReadonlyArray<string> }
  | { readonly kind: "prefix"; readonly tenant: string; readonly prefix: string }

/** A bucket's values as JSON number text (see AggregateOutput), and its mean. */
export type AggregateText = { readonly [K in keyof AggregateRow]: string } & { readonly mean: string }

export interface AggregateQuery {
  readonly plan: AggregatePlan
  readonly tz: string
  readonly from: number
  readonly to: number
  readonly selection: SensorSelection
  /** Continue after this (sensor, bucket start); null from the first. */
  readonly after: { readonly sensor: string; readonly start: number } | null
  readonly limit: number
}

const TABLE: Record<Tier, string> = { "1m": "rollup_1m", "1h": "rollup_1h", "1d": "rollup_1d" }

const COUNTS = ["suspect", ...SUSPECT_COLUMNS.map(([c]) => c)]

const TIER_SECONDS: Record<Tier, number> = { "1m": 60, "1h": 3_600, "1d": 86_400 }

/** Whether the asked buckets are the tier's own (the plan only picks a tier whose buckets align in the zone). */
const isIdentity = (plan: AggregatePlan): boolean =>
  plan.bucketing.kind === "fixed" ? plan.bucketing.seconds === TIER_SECONDS[plan.tier] : plan.bucketing.unit === "day" && plan.tier === "1d"

/**
 * How the row's values come out: as numbers (`AggregateRow`, for files), or as the JSON text of each
 * number (`AggregateText`, for pages): PostgreSQL's float8 output is the shortest text that reads
 * back exactly, valid JSON for the finite values a bucket holds, so a page needs neither parseFloat
 * nor number formatting in the node (a year of hours is 140,000 numbers).
 */
export type AggregateOutput = "numbers" | "text"

/** The outer select list over `g` (b, e = bucket start and end as timestamptz, then the tier's columns). */
const selectList = (output: AggregateOutput): string => {
  const epochMs = (e: string) => (output === "numbers" ? `(date_part('epoch', ${e}) * 1000)` : `(date_part('epoch', ${e}) * 1000)::int8::text`)
  const value = (e: string) => (output === "numbers" ? `${e}::float8` : `${e}::float8::text`)
  return [
    "s.id as sensor",
    `${epochMs("g.b")} as start`,
    `${epochMs("g.e")} as "end"`,
    ...["n", "lo", "hi", "total"].map((c) => `${value(`g.${c}`)} as ${c}`),
    ...(output === "text" ? ["(g.total / g.n)::float8::text as mean"] : []),
    `${epochMs("g.first_ts")} as first_ts`,
    `${value("g.first_value")} as first_value`,
    `${epochMs("g.last_ts")} as last_ts`,
    `${value("g.last_value")} as last_value`,
    ...COUNTS.map((c) => `${value(`g.${c}`)} as ${c}`)
  ].join(", ")
}

/**
 * The statement of a plan; $1 tz, $2 from, $3 to, $4 limit, $5/$6 after, $7 (and $8) the selection.
 * The sensors are walked in id order and each one's buckets read (or folded) in bucket order by a
 * lateral subquery, so rows come out in page order without a sort (a nested loop keeps its outer
 * order) and the scan stops at the limit: a page of 10,000 minutes from a prefix of 1,000 sensors
 * reads 7 sensors' rows, not all of them (800 ms -> 15 ms).
 */
export const aggregateSql = (plan: AggregatePlan, selection: SensorSelection["kind"], output: AggregateOutput = "numbers"): string => {
  const { bucketing } = plan
  const which = selection === "ids" ? "s.id = any($7::text[])" : "s.tenant = $7 and starts_with(s.id, $8)"
  const sensors = `(select s.key, s.id from sensors s where ${which} and s.id >= $5 order by s.id) s`
  const range = "r.sensor_key = s.key and r.bucket >= to_timestamp($2 / 1000.0) and r.bucket < to_timestamp($3 / 1000.0)"
  if (isIdentity(plan)) {
    // The tier's rows are the answer: read them in index order, no folding.
    return `
select ${selectList(output)}
from ${sensors} cross join lateral (
  select r.bucket as b, r.bucket + interval '${TIER_SECONDS[plan.tier]} seconds' as e, r.n, r.lo, r.hi, r.total, r.first_ts, r.first_value,
    r.last_ts, r.last_value, ${COUNTS.map((c) => `r.${c}`).join(", ")}
  from ${TABLE[plan.tier]} r
  where ${range} and $1::text is not null and (s.id > $5 or r.bucket > to_timestamp($6 / 1000.0))
  order by r.bucket
) g
limit $4`
  }
  const bucket =
    bucketing.kind === "fixed"
      ? `date_bin(interval '${bucketing.seconds} seconds', r.bucket, timezone($1, timestamp '2000-01-03 00:00:00'))`
      : `date_trunc('${bucketing.unit}', r.bucket, $1)`
  const end =
    bucketing.kind === "fixed" ? `f.b + interval '${bucketing.seconds} seconds'` : `timezone($1, timezone($1, f.b) + interval '1 ${bucketing.unit}')`
  return `
select ${selectList(output)}
from ${sensors} cross join lateral (
  select f.*, ${end} as e from (
    select ${bucket} as b, sum(r.n) as n, min(r.lo) as lo, max(r.hi) as hi, sum(r.total) as total,
      min(r.first_ts) as first_ts, (min(array[extract(epoch from r.first_ts)::float8, r.first_value]))[2] as first_value,
      max(r.last_ts) as last_ts, (max(array[extract(epoch from r.last_ts)::float8, r.last_value]))[2] as last_value,
      ${COUNTS.map((c) => `sum(r.${c}) as ${c}`).join(", ")}
    from ${TABLE[plan.tier]} r
    where ${range}
    group by 1
  ) f
  where s.id > $5 or f.b > to_timestamp($6 / 1000.0)
  order by f.b
) g
limit $4`
}

export class AggregateRepo extends Effect.Service<AggregateRepo>()("flowmesh/AggregateRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const statement = <A extends object>(q: AggregateQuery, limit: number | null, output: AggregateOutput) => {
      const selection = q.selection.kind === "ids" ? [`{${q.selection.ids.map((id) => JSON.stringify(id)).join(",")}}`] : [q.selection.tenant, q.selection.prefix]
      return sql.unsafe<A>(aggregateSql(q.plan, q.selection.kind, output), [q.tz, q.from, q.to, limit, q.after?.sensor ?? "", q.after?.start ?? -1, ...selection])
    }
    /** One page of at most `q.limit` buckets, its values as JSON text. */
    const page = (q: AggregateQuery) => statement<AggregateText>(q, q.limit, "text").pipe(orUnavailable)
    /** Every bucket after `q.after`, through a cursor (constant memory); `q.limit` is ignored. */
    const stream = (q: AggregateQuery) =>
      statement<AggregateRow>(q, null, "numbers").stream.pipe(Stream.mapError(() => new DatabaseUnavailable({ message: "database unavailable" })))
    return { page, stream } as const
  })
}) {}
