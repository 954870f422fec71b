/** Aggregates from the rollup tiers: a sensor's buckets, or many sensors' by id list or prefix. */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { AppConfig } from "../config.js"
import { type AggregateInterval, isTimeZone, planAggregates } from "../domain/aggregate-plan.js"
import { externalId, internalId } from "../domain/tenancy.js"
import type { AggregateQuery, AggregateRow } from "../storage/aggregate-repo.js"
import { AggregateRepo } from "../storage/aggregate-repo.js"
import { SensorRepo } from "../storage/sensor-repo.js"
import { FlowmeshApi } from "./api.js"
import { currentTenant } from "./auth/principal.js"
import { InvalidRequest, SensorNotFound, ServiceUnavailable } from "./errors.js"
import { bucketPage, seriesPage } from "./aggregate-json.js"
import { encodeRows, ExportGate, exportFileName, exportFormat } from "./export-response.js"
import { selectionOf } from "./sensor-selection.js"

const DEFAULT_LIMIT = 1_000

const unavailable = () => new ServiceUnavailable({ message: "database unavailable; retry later" })
const invalid = (param: string, message: string) => new InvalidRequest({ message: `${param}: ${message}` })

interface CommonParams {
  readonly interval: AggregateInterval
  readonly from: number
  readonly to?: number | undefined
  readonly tz?: string | undefined
  readonly limit?: number | undefined
  readonly format?: "json" | "csv" | "ndjson" | undefined
}

const EXPORT_COLUMNS = {
  header: [
    "sensor", "start", "end", "start_time", "count", "min", "max", "sum", "mean", "first_ts", "first_value", "last_ts", "last_value",
    "suspect", "spike", "rate_of_change", "stuck", "out_of_range"
  ],
  values: (r: AggregateRow) => [
    externalId(r.sensor), r.start, r.end, new Date(r.start).toISOString(), r.n, r.lo, r.hi, r.total, r.total / r.n, r.first_ts, r.first_value,
    r.last_ts, r.last_value, r.suspect, r.spike, r.rate_of_change, r.stuck, r.out_of_range
  ]
}

/** A page as JSON (the API's AggregatePage / AggregateSeriesPage), written directly: see aggregate-json.ts. */
const answer = (body: Uint8Array) => HttpServerResponse.uint8Array(body, { contentType: "application/json" })

/** The URL of the page after `rows`, or null when this page was the last. */
const nextUrl = (path: string, params: Record<string, string | number | undefined>, rows: ReadonlyArray<unknown>, limit: number, after: string | undefined) => {
  if (rows.length < limit || after === undefined) return null
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries({ ...params, after })) if (v !== undefined) search.set(k, String(v))
  return `${path}?${search.toString()}`
}

export const AggregatesHandlersLive = HttpApiBuilder.group(FlowmeshApi, "aggregates", (handlers) =>
  Effect.gen(function* () {
    const aggregates = yield* AggregateRepo
    const sensors = yield* SensorRepo
    const exports = yield* ExportGate
    const { rollups } = yield* AppConfig
    const retention = { minuteDays: rollups.minuteRetentionDays, hourDays: rollups.hourRetentionDays, dayDays: rollups.dayRetentionDays }

    /** The query's plan and bounds, or a 400 naming the parameter. */
    const planOf = (p: CommonParams) =>
      Effect.gen(function* () {
        const tz = p.tz ?? "UTC"
        if (!isTimeZone(tz)) return yield* Effect.fail(invalid("tz", `${JSON.stringify(tz)} is not a known IANA time zone (e.g. Europe/Berlin, UTC)`))
        const now = Date.now()
        const to = p.to ?? now
        if (p.from >= to) return yield* Effect.fail(invalid("from", "must be less than to"))
        const planned = planAggregates({ interval: p.interval, tz, from: p.from, to }, retention, now)
        if ("param" in planned) return yield* Effect.fail(invalid(planned.param, planned.message))
        const request = yield* HttpServerRequest.HttpServerRequest
        const format = exportFormat(p.format, request.headers.accept)
        return { plan: planned.plan, tz, from: p.from, to, limit: p.limit ?? DEFAULT_LIMIT, format }
      })

    /** The whole range as a streamed file. */
    const exported = (query: AggregateQuery, format: "csv" | "ndjson", name: string) =>
      exports.respond(encodeRows(aggregates.stream(query), EXPORT_COLUMNS, format), format, exportFileName([name, query.from, query.to], format))

    return handlers
      .handle("sensor", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const q = yield* planOf(urlParams)
          const tenant = yield* currentTenant
          const id = internalId(tenant, path.id)
          const row = yield* sensors.find(id).pipe(Effect.mapError(unavailable))
          if (row === null) return yield* Effect.fail(new SensorNotFound({ message: `sensor ${JSON.stringify(path.id)} does not exist` }))
          if (q.format !== null) return yield* exported({ ...q, selection: { kind: "ids", ids: [id] }, after: null }, q.format, `${path.id}_${urlParams.interval}`)
          const rows = yield* aggregates
            .page({ ...q, selection: { kind: "ids", ids: [id] }, after: urlParams.after === undefined ? null : { sensor: id, start: urlParams.after }, limit: q.limit })
            .pipe(Effect.mapError(unavailable))
          const last = rows[rows.length - 1]
          return answer(
            bucketPage({ sensor: path.id, interval: urlParams.interval, tz: q.tz, tier: q.plan.tier }, rows, nextUrl(
              `/api/v1/sensors/${encodeURIComponent(path.id)}/aggregates`,
              { interval: urlParams.interval, from: q.from, to: q.to, tz: q.tz, limit: q.limit },
              rows,
              q.limit,
              last === undefined ? undefined : String(last.start)
            ))
          )
        })
      )
      .handle("many", ({ urlParams }) =>
        Effect.gen(function* () {
          const q = yield* planOf(urlParams)
          const tenant = yield* currentTenant
          const selection = yield* selectionOf(tenant, urlParams.prefix, urlParams.sensors)
          let after: { sensor: string; start: number } | null = null
          if (urlParams.after !== undefined) {
            const at = urlParams.after.lastIndexOf("@")
            const start = Number(urlParams.after.slice(at + 1))
            if (at <= 0 || !Number.isFinite(start)) return yield* Effect.fail(invalid("after", "must be <sensor>@<bucket start ms>, as the previous page's next gives it"))
            after = { sensor: internalId(tenant, urlParams.after.slice(0, at)), start }
          }
          if (q.format !== null) {
            return yield* exported({ ...q, selection, after }, q.format, `${urlParams.prefix ?? "sensors"}_${urlParams.interval}`)
          }
          const rows = yield* aggregates.page({ ...q, selection, after }).pipe(Effect.mapError(unavailable))
          const last = rows[rows.length - 1]
          return answer(
            seriesPage({ interval: urlParams.interval, tz: q.tz, tier: q.plan.tier }, rows, externalId, nextUrl(
              "/api/v1/aggregates",
              { interval: urlParams.interval, from: q.from, to: q.to, tz: q.tz, limit: q.limit, prefix: urlParams.prefix, sensors: urlParams.sensors },
              rows,
              q.limit,
              last === undefined ? undefined : `${externalId(last.sensor)}@${last.start}`
            ))
          )
        })
      )
  })
)
