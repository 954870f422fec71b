/** Period reports over the rollups, as JSON, CSV or a printable HTML page. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { AppConfig } from "../config.js"
import { isTimeZone, tierForRange } from "../domain/aggregate-plan.js"
import { externalId } from "../domain/tenancy.js"
import { ReportRepo, type ReportRow } from "../storage/report-repo.js"
import { FlowmeshApi } from "./api.js"
import { currentTenant } from "./auth/principal.js"
import { InvalidRequest, ServiceUnavailable } from "./errors.js"
import { exportFileName } from "./export-response.js"
import { reportHtml } from "./report-html.js"
import { selectionOf } from "./sensor-selection.js"

const invalid = (param: string, message: string) => new InvalidRequest({ message: `${param}: ${message}` })
const unavailable = () => new ServiceUnavailable({ message: "database unavailable; retry later" })

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/

const lineOf = (r: ReportRow) => ({
  sensor: externalId(r.sensor),
  count: r.n,
  min: r.lo,
  max: r.hi,
  mean: r.n > 0 && r.total !== null ? r.total / r.n : null,
  sum: r.total,
  first: r.first_value,
  last: r.last_value,
  increase: r.increase,
  suspectShare: r.n > 0 ? r.suspect / r.n : null,
  offlineSeconds: Math.round(r.offline_ms / 1000),
  alertsOpened: r.alerts_opened
})

const CSV_HEADER = "sensor,count,min,max,mean,sum,first,last,increase,suspect_share,offline_seconds,alerts_opened"

const csvOf = (lines: ReadonlyArray<ReturnType<typeof lineOf>>) =>
  `${CSV_HEADER}\n${lines
    .map((l) => [l.sensor, l.count, l.min, l.max, l.mean, l.sum, l.first, l.last, l.increase, l.suspectShare, l.offlineSeconds, l.alertsOpened].map((v) => (v === null ? "" : String(v))).join(","))
    .join("\n")}\n`

export const ReportsHandlersLive = HttpApiBuilder.group(FlowmeshApi, "reports", (handlers) =>
  Effect.gen(function* () {
    const reports = yield* ReportRepo
    const { rollups } = yield* AppConfig
    const retention = { minuteDays: rollups.minuteRetentionDays, hourDays: rollups.hourRetentionDays, dayDays: rollups.dayRetentionDays }

    return handlers.handle("report", ({ urlParams: p }) =>
      Effect.gen(function* () {
        const tz = p.tz ?? "UTC"
        if (!isTimeZone(tz)) return yield* Effect.fail(invalid("tz", `${JSON.stringify(tz)} is not a known IANA time zone (e.g. Europe/Berlin, UTC)`))
        const selection = yield* selectionOf(yield* currentTenant, p.prefix, p.sensors)
        let from: number
        let to: number
        if (p.period === "custom") {
          if (p.from === undefined) return yield* Effect.fail(invalid("from", "is required with period=custom"))
          from = p.from
          to = p.to ?? Math.floor(Date.now() / 60_000) * 60_000
        } else {
          const pattern = p.period === "day" ? DAY : MONTH
          if (p.date === undefined || !pattern.test(p.date)) {
            return yield* Effect.fail(invalid("date", `period=${p.period} needs date=${p.period === "day" ? "YYYY-MM-DD" : "YYYY-MM"}`))
          }
          const bounds = yield* reports
            .periodBounds(p.period, p.period === "day" ? p.date : `${p.date}-01`, tz)
            .pipe(Effect.mapError(() => invalid("date", `${JSON.stringify(p.date)} is not a calendar ${p.period}`)))
          from = bounds.from
          to = bounds.to
        }
        if (from >= to) return yield* Effect.fail(invalid("from", "must be less than to"))
        const tiered = tierForRange(from, to, retention, Date.now())
        if ("param" in tiered) return yield* Effect.fail(invalid(tiered.param, tiered.message))
        const rows = yield* reports.report(tiered.tier, selection, from, to).pipe(Effect.mapError(unavailable))
        const report = { period: p.period, from, to, tz, tier: tiered.tier, generatedAt: Date.now(), sensors: rows.map(lineOf) }
        if (p.format === "csv" || p.format === "html") {
          const name = exportFileName(["report", p.prefix ?? "sensors", p.period === "custom" ? `${from}-${to}` : (p.date ?? "")], p.format)
          const body = p.format === "csv" ? csvOf(report.sensors) : reportHtml(report)
          return HttpServerResponse.text(body, {
            contentType: p.format === "csv" ? "text/csv; charset=utf-8" : "text/html; charset=utf-8",
            headers: p.format === "csv" ? { "content-disposition": `attachment; filename="${name}"` } : { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'" }
          })
        }
        return report
      })
    )
  })
)
