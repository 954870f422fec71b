/**
 * The aggregates API contract: one sensor's buckets, and many sensors' (by id list or id prefix),
 * from the rollup tiers. Buckets with no readings are absent (never zero-filled).
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { INTERVALS } from "../domain/aggregate-plan.js"
import { EpochMsParam, IntParam, TextParam } from "../domain/request-params.js"
import { RequiredAccess } from "./auth/policy.js"
import { InvalidRequest, SensorNotFound, ServiceUnavailable } from "./errors.js"

const Interval = Schema.Literal(...INTERVALS).annotations({
  message: () => `must be one of ${INTERVALS.join(", ")}`,
  description: "bucket width: minutes (1m, 5m, 15m), hours (1h), or calendar days, ISO weeks (from Monday) and months in tz"
})

/** `json` (default) answers a page; `csv` and `ndjson` stream the whole range as a file (so does an Accept header naming them). */
export const ExportFormatParam = Schema.Literal("json", "csv", "ndjson").annotations({
  message: () => "must be one of json, csv, ndjson",
  description: "json: a page (default); csv or ndjson: the whole range streamed as a file (Accept: text/csv or application/x-ndjson does the same)"
})

const TimedValue = Schema.Struct({ ts: Schema.Number, value: Schema.Number })

export const AggregateBucket = Schema.Struct({
  start: Schema.Number.annotations({ description: "epoch ms, inclusive" }),
  end: Schema.Number.annotations({ description: "epoch ms, exclusive (a local day across a DST change lasts 23 or 25 hours)" }),
  count: Schema.Number,
  min: Schema.Number,
  max: Schema.Number,
  sum: Schema.Number,
  mean: Schema.Number,
  first: TimedValue,
  last: TimedValue,
  suspect: Schema.Struct({
    count: Schema.Number,
    spike: Schema.Number,
    rate_of_change: Schema.Number,
    stuck: Schema.Number,
    out_of_range: Schema.Number
  })
}).annotations({ identifier: "AggregateBucket" })

const Tier = Schema.Literal("1m", "1h", "1d").annotations({ description: "the rollup tier the buckets were folded from" })

export const AggregatePage = Schema.Struct({
  sensor: Schema.String,
  interval: Interval,
  tz: Schema.String,
  tier: Tier,
  buckets: Schema.Array(AggregateBucket),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next page, or null" })
}).annotations({ identifier: "AggregatePage" })

export const AggregateSeriesPage = Schema.Struct({
  interval: Interval,
  tz: Schema.String,
  tier: Tier,
  series: Schema.Array(Schema.Struct({ sensor: Schema.String, buckets: Schema.Array(AggregateBucket) })),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next page, or null" })
}).annotations({ identifier: "AggregateSeriesPage" })

const common = {
  interval: Interval,
  from: EpochMsParam.annotations({ description: "buckets starting at or after (epoch ms)" }),
  to: Schema.optional(EpochMsParam.annotations({ description: "buckets starting before (epoch ms); default now" })),
  tz: Schema.optional(TextParam.annotations({ description: "IANA time zone of the buckets, e.g. Europe/Berlin; default UTC" })),
  limit: Schema.optional(IntParam(1, 10_000).annotations({ description: "buckets per page (default 1,000)" })),
  format: Schema.optional(ExportFormatParam)
}

export class AggregatesApi extends HttpApiGroup.make("aggregates")
  .add(
    HttpApiEndpoint.get("sensor", "/api/v1/sensors/:id/aggregates").annotate(RequiredAccess, "viewer")
      .setPath(Schema.Struct({ id: TextParam }))
      .setUrlParams(Schema.Struct({ ...common, after: Schema.optional(EpochMsParam.annotations({ description: "page cursor: the last bucket start seen" })) }))
      .addSuccess(AggregatePage)
      .addError(SensorNotFound)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.get("many", "/api/v1/aggregates").annotate(RequiredAccess, "viewer")
      .setUrlParams(
        Schema.Struct({
          ...common,
          prefix: Schema.optional(TextParam.annotations({ description: "every sensor whose id starts with it" })),
          sensors: Schema.optional(TextParam.annotations({ description: "comma-separated sensor ids (at most 100)" })),
          after: Schema.optional(TextParam.annotations({ description: "page cursor: <sensor>@<bucket start>, from the previous page's next" }))
        })
      )
      .addSuccess(AggregateSeriesPage)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
  )
  .annotate(OpenApi.Title, "Aggregates") {}
