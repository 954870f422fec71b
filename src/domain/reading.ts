import { ParseResult, Schema } from "effect"
import { isEpochMs, MAX_EPOCH_MS, MIN_EPOCH_MS, toEpochMs } from "./epoch-range.js"
import { SensorId } from "./sensor-id.js"

/**
 * The largest magnitude a value may have. Sums of readings (rollup buckets, reports) are float8 in
 * PostgreSQL, which raises an error on overflow: two readings of 1e308 in one minute would make
 * every run of the rollup job fail, for every sensor. Up to 1e200, a sum of any number of readings
 * that could ever exist stays finite.
 */
export const MAX_ABS_VALUE = 1e200

export const FiniteValue = Schema.Number.pipe(
  Schema.finite({ message: () => "must be a finite number (NaN and Infinity are not readings)" }),
  Schema.between(-MAX_ABS_VALUE, MAX_ABS_VALUE, { message: () => "must be between -1e200 and 1e200 (so that sums of readings stay finite)" })
).annotations({ description: "The measured value, a finite number from -1e200 to 1e200" })

/** Epoch ms; a fraction is cut to the millisecond (the precision flowmesh stores, see epoch-range.ts). */
const EpochMs = Schema.transform(
  Schema.Number.pipe(Schema.finite(), Schema.between(MIN_EPOCH_MS, MAX_EPOCH_MS)),
  Schema.Number,
  { strict: true, decode: toEpochMs, encode: (ms) => ms }
).annotations({ description: "Epoch milliseconds (a fraction is cut to the millisecond)" })

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/

const IsoDateTime = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (s, _, ast) => {
    const ms = ISO_DATE_TIME.test(s) ? Date.parse(s) : Number.NaN
    return Number.isFinite(ms) && isEpochMs(ms)
      ? ParseResult.succeed(ms)
      : ParseResult.fail(new ParseResult.Type(ast, s, "is not an ISO-8601 date-time with a zone, from 1970 on"))
  },
  encode: (ms) => ParseResult.succeed(new Date(ms).toISOString())
}).annotations({ description: "ISO-8601 date-time with a zone, e.g. 2026-01-31T12:00:00Z" })

/** Epoch ms as a number, or an ISO-8601 date-time string; decoded to epoch ms. */
export const Timestamp = Schema.Union(EpochMs, IsoDateTime).annotations({
  identifier: "Timestamp",
  message: () => ({
    message: "must be epoch milliseconds (0..8.64e15) or an ISO-8601 date-time string with a zone, from 1970 on",
    override: true
  })
})

const readingFields = {
  ts: Schema.optionalWith(Timestamp, { exact: true }),
  value: FiniteValue
}

/** One reading as a device sends it; `ts` defaults to receipt time. */
export const Reading = Schema.Struct({ sensor: SensorId, ...readingFields }).annotations({
  identifier: "Reading"
})
export type Reading = typeof Reading.Type

/** A reading for a sensor named by the URL. */
export const SensorReading = Schema.Struct(readingFields).annotations({ identifier: "SensorReading" })
export type SensorReading = typeof SensorReading.Type

export const ReadingsBody = Schema.Struct({ readings: Schema.Array(Reading) }).annotations({
  identifier: "ReadingsBody"
})
export const SensorReadingsBody = Schema.Struct({ readings: Schema.Array(SensorReading) }).annotations({
  identifier: "SensorReadingsBody"
})

/** What the device is told about a reading that was not simply good. */
export const SuspectItem = Schema.Struct({
  index: Schema.Int,
  sensor: Schema.String,
  reasons: Schema.Array(Schema.Literal("spike", "rate_of_change", "stuck", "out_of_range"))
})
export const RejectedItem = Schema.Struct({
  index: Schema.Int,
  sensor: Schema.String,
  reason: Schema.Literal("invalid", "out_of_order", "duplicate", "throttled", "not_permitted", "too_old", "unstorable").annotations({
    description:
      "not_permitted: the device key is bound to other sensors (nothing about the sensor is revealed); unstorable: PostgreSQL refused the reading for its data, it was not stored (the rest of the batch was); too_old: older than the oldest day raw retention keeps (RETENTION_DAYS), not stored"
  })
})
export const IngestResult = Schema.Struct({
  accepted: Schema.Int.annotations({ description: "Readings accepted (good or suspect)" }),
  durable: Schema.Boolean.annotations({ description: "True when the accepted readings are committed" }),
  suspect: Schema.Array(SuspectItem),
  rejected: Schema.Array(RejectedItem)
}).annotations({ identifier: "IngestResult" })
export type IngestResult = typeof IngestResult.Type
