/**
 * Period reports: per sensor of a selection, over [from, to), the totals of the rollup tier the
 * plan names (count, min, max, sum, first, last, suspect share), the increase of its value (what a
 * counter or totalizer consumed: the rises between successive buckets and within each, a fall taken
 * as a meter reset, so at the tier's resolution), the alerts opened in the period and the time its
 * offline alerts covered.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { Tier } from "../domain/aggregate-plan.js"
import type { SensorSelection } from "./aggregate-repo.js"
import { orUnavailable } from "./errors.js"

export interface ReportRow {
  readonly sensor: string
  readonly n: number
  readonly lo: number | null
  readonly hi: number | null
  readonly total: number | null
  readonly first_value: number | null
  readonly last_value: number | null
  readonly increase: number | null
  readonly suspect: number
  readonly alerts_opened: number
  readonly offline_ms: number
}

const TABLE: Record<Tier, string> = { "1m": "rollup_1m", "1h": "rollup_1h", "1d": "rollup_1d" }

/** $1 from, $2 to (epoch ms), $3 (and $4) the selection; at most 10,000 sensors. */
export const reportSql = (tier: Tier, selection: SensorSelection["kind"]) => `
with chosen as (
  select s.key, s.id from sensors s
  where ${selection === "ids" ? "s.id = any($3::text[])" : "s.tenant = $3 and starts_with(s.id, $4)"}
  order by s.id limit 10000
),
buckets as (
  select r.*, lag(r.last_value) over (partition by r.sensor_key order by r.bucket) as prev_last
  from ${TABLE[tier]} r join chosen c on c.key = r.sensor_key
  where r.bucket >= to_timestamp($1 / 1000.0) and r.bucket < to_timestamp($2 / 1000.0)
),
totals as (
  select sensor_key, sum(n)::float8 as n, min(lo) as lo, max(hi) as hi, sum(total) as total,
    (min(array[extract(epoch from first_ts)::float8, first_value]))[2] as first_value,
    (max(array[extract(epoch from last_ts)::float8, last_value]))[2] as last_value,
    sum(greatest(last_value - first_value, 0) + greatest(coalesce(first_value - prev_last, 0), 0)) as increase,
    sum(suspect)::float8 as suspect
  from buckets group by sensor_key
),
alerting as (
  select a.sensor, count(*) filter (where a.opened_at >= to_timestamp($1 / 1000.0))::float8 as opened,
    coalesce(sum(extract(epoch from
      least(coalesce(a.resolved_at, now()), to_timestamp($2 / 1000.0)) - greatest(a.opened_at, to_timestamp($1 / 1000.0))
    ) * 1000) filter (where a.kind = 'offline'), 0)::float8 as offline_ms
  from alerts a join chosen c on c.id = a.sensor
  where a.opened_at < to_timestamp($2 / 1000.0) and coalesce(a.resolved_at, now()) > to_timestamp($1 / 1000.0)
  group by a.sensor
)
select c.id as sensor, coalesce(t.n, 0) as n, t.lo, t.hi, t.total, t.first_value, t.last_value, t.increase,
  coalesce(t.suspect, 0) as suspect, coalesce(al.opened, 0) as alerts_opened, coalesce(al.offline_ms, 0) as offline_ms
from chosen c left join totals t on t.sensor_key = c.key left join alerting al on al.sensor = c.id
order by c.id`

export class ReportRepo extends Effect.Service<ReportRepo>()("flowmesh/ReportRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const report = (tier: Tier, selection: SensorSelection, from: number, to: number) =>
      sql
        .unsafe<ReportRow>(reportSql(tier, selection.kind), [
          from,
          to,
          ...(selection.kind === "ids" ? [`{${selection.ids.map((id) => JSON.stringify(id)).join(",")}}`] : [selection.tenant, selection.prefix])
        ])
        .pipe(orUnavailable)
    /** The epoch ms bounds of a local calendar day or month (`date` is YYYY-MM-DD or YYYY-MM) in `tz`. */
    const periodBounds = (unit: "day" | "month", date: string, tz: string) =>
      sql<{ readonly from: number; readonly to: number }>`
        select (extract(epoch from timezone(${tz}, d)) * 1000)::float8 as "from",
               (extract(epoch from timezone(${tz}, d + ${unit === "day" ? sql`interval '1 day'` : sql`interval '1 month'`})) * 1000)::float8 as "to"
        from (select ${date}::date::timestamp as d) x`.pipe(
        Effect.map((rows) => rows[0] ?? { from: 0, to: 0 }),
        orUnavailable
      )
    return { report, periodBounds } as const
  })
}) {}
