import { Schema } from "effect"
import type { CoreConfig } from "./sensor-settings.js"
import { AlertRuleView, AlertRules } from "./alert-rules.js"

const NullableNumber = Schema.NullOr(Schema.Number.pipe(Schema.finite()))
const intRange = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))
const nonNegative = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

/**
 * A sensor's settings as the API takes them: every field optional (unset = default), unknown fields
 * rejected. Stored as given; the effective config is the defaults with these applied.
 */
export const SensorConfigPatch = Schema.Struct({
  windowSize: Schema.optionalWith(intRange(1, 10_000), { exact: true }),
  windowMs: Schema.optionalWith(intRange(0, 30 * 86_400_000), { exact: true }),
  hardMin: Schema.optionalWith(NullableNumber, { exact: true }),
  hardMax: Schema.optionalWith(NullableNumber, { exact: true }),
  softMin: Schema.optionalWith(NullableNumber, { exact: true }),
  softMax: Schema.optionalWith(NullableNumber, { exact: true }),
  spikeSigma: Schema.optionalWith(nonNegative, { exact: true }),
  spikeMinSamples: Schema.optionalWith(intRange(2, 10_000), { exact: true }),
  maxRatePerSecond: Schema.optionalWith(Schema.NullOr(nonNegative), { exact: true }),
  stuckCount: Schema.optionalWith(intRange(0, 100_000), { exact: true }),
  allowedSkewMs: Schema.optionalWith(intRange(0, 86_400_000), { exact: true }),
  throttleRate: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.positive()), { exact: true }),
  throttleBurst: Schema.optionalWith(intRange(1, 1_000_000), { exact: true }),
  degradedRatio: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { exact: true }),
  faultInvalidCount: Schema.optionalWith(intRange(1, 100_000), { exact: true }),
  rules: Schema.optionalWith(AlertRules, { exact: true })
}).pipe(
  Schema.filter((c) => {
    if (c.hardMin != null && c.hardMax != null && c.hardMin > c.hardMax) {
      return { path: ["hardMin"], message: "must not be greater than hardMax" }
    }
    if (c.softMin != null && c.softMax != null && c.softMin > c.softMax) {
      return { path: ["softMin"], message: "must not be greater than softMax" }
    }
    return true
  })
).annotations({ identifier: "SensorConfigPatch", parseOptions: { onExcessProperty: "error", errors: "all" } })
export type SensorConfigPatch = typeof SensorConfigPatch.Type

/** The effective config: defaults with the stored patch applied. */
export const SensorConfig = Schema.Struct({
  windowSize: Schema.Int,
  windowMs: Schema.Int,
  hardMin: Schema.NullOr(Schema.Number),
  hardMax: Schema.NullOr(Schema.Number),
  softMin: Schema.NullOr(Schema.Number),
  softMax: Schema.NullOr(Schema.Number),
  spikeSigma: Schema.Number,
  spikeMinSamples: Schema.Int,
  maxRatePerSecond: Schema.NullOr(Schema.Number),
  stuckCount: Schema.Int,
  allowedSkewMs: Schema.Int,
  throttleRate: Schema.Number,
  throttleBurst: Schema.Int,
  degradedRatio: Schema.Number,
  faultInvalidCount: Schema.Int,
  rules: Schema.Array(AlertRuleView)
}).annotations({ identifier: "SensorConfig" })

/** The defaults with `patch` applied; an empty patch gives `defaults` itself (shared by every sensor without overrides). */
export const effectiveConfig = (defaults: CoreConfig, patch: SensorConfigPatch): CoreConfig => {
  for (const _ in patch) return { ...defaults, ...patch }
  return defaults
}

/** Decodes a stored patch; a row edited by hand into something invalid falls back to the defaults. */
export const decodeStoredPatch = Schema.decodeUnknownOption(SensorConfigPatch)
