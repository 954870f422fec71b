/**
 * A sensor's settings as the pure core reads them (defaults applied, validated at the edge by
 * sensor-config.ts): shared vocabulary of the API, the core, the actors and storage.
 */
import type { AlertRule } from "./rule-kinds.js"

/** Per-sensor settings the core reads. All times in milliseconds, rates per second. */
export interface CoreConfig {
  /** Window holds at most this many readings (1..10_000). */
  readonly windowSize: number
  /** Window also forgets readings older than newest ts minus this; 0 disables the time bound. */
  readonly windowMs: number
  /** Hard physical limits: a value outside is rejected as `invalid`. */
  readonly hardMin: number | null
  readonly hardMax: number | null
  /** Soft operating range: a value outside is accepted but `suspect` (`out_of_range`). */
  readonly softMin: number | null
  readonly softMax: number | null
  /** Spike: |value - mean| > spikeSigma * stddev of the window (needs spikeMinSamples). 0 disables. */
  readonly spikeSigma: number
  readonly spikeMinSamples: number
  /** Rate of change limit in value units per second against the previous accepted reading; null disables. */
  readonly maxRatePerSecond: number | null
  /** Stuck: this many identical consecutive values (including this one) flag `stuck`; 0 disables. */
  readonly stuckCount: number
  /** A ts older than the last accepted ts by more than this is `out_of_order`. */
  readonly allowedSkewMs: number
  /** Token bucket: sustained readings per second and burst size. */
  readonly throttleRate: number
  readonly throttleBurst: number
  /** Status: degraded when suspect share in the window exceeds this (0..1), with hysteresis. */
  readonly degradedRatio: number
  /** Status: fault after this many consecutive invalid readings. */
  readonly faultInvalidCount: number
  /** Alert rules, evaluated after each batch (see rules.ts); at most 32, ids unique. */
  readonly rules: ReadonlyArray<AlertRule>
}

/** The settings of a sensor nobody configured. */
export const defaultCoreConfig: CoreConfig = {
  windowSize: 60,
  windowMs: 0,
  hardMin: null,
  hardMax: null,
  softMin: null,
  softMax: null,
  spikeSigma: 6,
  spikeMinSamples: 10,
  maxRatePerSecond: null,
  // Off by default: a totalizer or a closed valve legitimately repeats its value for hours.
  stuckCount: 0,
  allowedSkewMs: 0,
  throttleRate: 100,
  throttleBurst: 1000,
  degradedRatio: 0.3,
  faultInvalidCount: 10,
  rules: []
}
