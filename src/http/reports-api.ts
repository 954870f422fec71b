/**
 * Period reports: per sensor of an id list or a prefix, for a local day, a local month or a custom
 * range, as JSON, CSV or a printable HTML page.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { EpochMsParam, TextParam } from "../domain/request-params.js"
import { RequiredAccess } from "./auth/policy.js"
import { InvalidRequest, ServiceUnavailable } from "./errors.js"

export const ReportLine = Schema.Struct({
  sensor: Schema.String,
  count: Schema.Number,
  min: Schema.NullOr(Schema.Number),
  max: Schema.NullOr(Schema.Number),
  mean: Schema.NullOr(Schema.Number),
  sum: Schema.NullOr(Schema.Number),
  first: Schema.NullOr(Schema.Number),
  last: Schema.NullOr(Schema.Number),
  increase: Schema.NullOr(Schema.Number).annotations({
    description: "what a counter or totalizer consumed: the rises of its value over the period (a fall is taken as a meter reset), at the tier's resolution"
  }),
  suspectShare: Schema.NullOr(Schema.Number).annotations({ description: "suspect readings / readings, 0 to 1" }),
  offlineSeconds: Schema.Number.annotations({ description: "time covered by its offline alerts within the period" }),
  alertsOpened: Schema.Number
}).annotations({ identifier: "ReportLine" })

export const Report = Schema.Struct({
  period: Schema.Literal("day", "month", "custom"),
  from: Schema.Number,
  to: Schema.Number,
  tz: Schema.String,
  tier: Schema.Literal("1m", "1h", "1d"),
  generatedAt: Schema.Number,
  sensors: Schema.Array(ReportLine)
}).annotations({ identifier: "Report" })

export class ReportsApi extends HttpApiGroup.make("reports")
  .add(
    HttpApiEndpoint.get("report", "/api/v1/reports").annotate(RequiredAccess, "viewer")
      .setUrlParams(
        Schema.Struct({
          period: Schema.Literal("day", "month", "custom").annotations({ message: () => "must be one of day, month, custom" }),
          date: Schema.optional(TextParam.annotations({ description: "the local day (YYYY-MM-DD) or month (YYYY-MM) of period=day or month" })),
          from: Schema.optional(EpochMsParam.annotations({ description: "period=custom: start (epoch ms)" })),
          to: Schema.optional(EpochMsParam.annotations({ description: "period=custom: end (epoch ms), default now" })),
          tz: Schema.optional(TextParam.annotations({ description: "IANA time zone of the day or month; default UTC" })),
          prefix: Schema.optional(TextParam.annotations({ description: "every sensor whose id starts with it (at most 10,000)" })),
          sensors: Schema.optional(TextParam.annotations({ description: "comma-separated sensor ids (at most 100)" })),
          format: Schema.optional(Schema.Literal("json", "csv", "html").annotations({ message: () => "must be one of json, csv, html" }))
        })
      )
      .addSuccess(Report)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
  )
  .annotate(OpenApi.Title, "Reports") {}
