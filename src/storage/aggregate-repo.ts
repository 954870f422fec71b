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

const ms = (expression: string) => `(date_part('epoch', ${expression}) * 1000)`

const TIER_SECONDS: Record<Tier, number> = { "1m": 60, "1h": 3_600, "1d": 86_400 }

/** Whether the asked buckets are the tier's own (the plan only picks a tier whose buckets align in the zone). */
const isIdentity = (plan: AggregatePlan): boolean =>
  plan.bucketing.kind === "fixed" ? plan.bucketing.seconds === TIER_SECONDS[plan.tier] : plan.bucketing.unit === "day" && plan.tier === "1d"

/** The statement of a plan; $1 tz, $2 from, $3 to, $4 limit, $5/$6 after, $7 (and $8) the selection. */
export const aggregateSql = (plan: AggregatePlan, selection: SensorSelection["kind"]): string => {
  const { bucketing } = plan
  const which = selection === "ids" ? "s.id = any($7::text[])" : "s.tenant = $7 and starts_with(s.id, $8)"
  if (isIdentity(plan)) {
    // The tier's rows are the answer: read them in index order, no folding.
    return `
select s.id as sensor, ${ms("r.bucket")} as start, ${ms(`r.bucket + interval '${TIER_SECONDS[plan.tier]} seconds'`)} as "end", r.n::float8 as n, r.lo, r.hi, r.total,
  ${ms("r.first_ts")} as first_ts, r.first_value, ${ms("r.last_ts")} as last_ts, r.last_value, ${COUNTS.map((c) => `r.${c}::float8 as ${c}`).join(", ")}
from sensors s join ${TABLE[plan.tier]} r on r.sensor_key = s.key
where ${which} and $1::text is not null
  and r.bucket >= to_timestamp($2 / 1000.0) and r.bucket < to_timestamp($3 / 1000.0)
  and (s.id > $5 or (s.id = $5 and r.bucket > to_timestamp($6 / 1000.0)))
order by s.id, r.bucket
limit $4`
  }
  const bucket =
    bucketing.kind === "fixed"
      ? `date_bin(interval '${bucketing.seconds} seconds', r.bucket, timezone($1, timestamp '2000-01-03 00:00:00'))`
      : `date_trunc('${bucketing.unit}', r.bucket, $1)`
  const end =
    bucketing.kind === "fixed" ? `g.b + interval '${bucketing.seconds} seconds'` : `timezone($1, timezone($1, g.b) + interval '1 ${bucketing.unit}')`
  return `
select s.id as sensor, ${ms("g.b")} as start, ${ms(end)} as "end", g.n, g.lo, g.hi, g.total,
  ${ms("g.first_ts")} as first_ts, g.first_value, ${ms("g.last_ts")} as last_ts, g.last_value, ${COUNTS.map((c) => `g.${c}`).join(", ")}
from sensors s cross join lateral (
  select ${bucket} as b, sum(r.n)::float8 as n, min(r.lo) as lo, max(r.hi) as hi, sum(r.total) as total,
    min(r.first_ts) as first_ts, (min(array[extract(epoch from r.first_ts)::float8, r.first_value]))[2] as first_value,
    max(r.last_ts) as last_ts, (max(array[extract(epoch from r.last_ts)::float8, r.last_value]))[2] as last_value,
    ${COUNTS.map((c) => `sum(r.${c})::float8 as ${c}`).join(", ")}
  from ${TABLE[plan.tier]} r
  where r.sensor_key = s.key and r.bucket >= to_timestamp($2 / 1000.0) and r.bucket < to_timestamp($3 / 1000.0)
  group by 1
) g
where ${which} and (s.id > $5 or (s.id = $5 and g.b > to_timestamp($6 / 1000.0)))
order by s.id, g.b
limit $4`
}

export class AggregateRepo extends Effect.Service<AggregateRepo>()("flowmesh/AggregateRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const statement = (q: AggregateQuery, limit: number | null) => {
      const selection = q.selection.kind === "ids" ? [`{${q.selection.ids.map((id) => JSON.stringify(id)).join(",")}}`] : [q.selection.tenant, q.selection.prefix]
      return sql.unsafe<AggregateRow>(aggregateSql(q.plan, q.selection.kind), [q.tz, q.from, q.to, limit, q.after?.sensor ?? "", q.after?.start ?? -1, ...selection])
    }
    /** One page of at most `q.limit` buckets. */
    const page = (q: AggregateQuery) => statement(q, q.limit).pipe(orUnavailable)
    /** Every bucket after `q.after`, through a cursor (constant memory); `q.limit` is ignored. */
    const stream = (q: AggregateQuery) =>
      statement(q, null).stream.pipe(Stream.mapError(() => new DatabaseUnavailable({ message: "database unavailable" })))
    return { page, stream } as const
  })
}) {}
