/**
 * Plain data of the sensor's pure core. No Effect, no I/O: the entity owns one `SensorCore`
 * per sensor and steps it synchronously per batch.
 */
import type { AlertRule } from "./rule-types.js"

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

/** Bit flags of why an accepted reading is suspect; stored as a small integer (0 = good). */
export const SuspectFlag = {
  spike: 1,
  rate_of_change: 2,
  stuck: 4,
  out_of_range: 8
} as const
export type SuspectReason = keyof typeof SuspectFlag

export type RejectReason = "invalid" | "out_of_order" | "duplicate" | "throttled"

export type SensorStatus = "unknown" | "online" | "degraded" | "fault"

/** Outcome of one reading. `quality` 0 is good, otherwise a SuspectFlag bit set; `reject` set means rejected. */
export interface Decision {
  readonly quality: number
  readonly reject: RejectReason | null
}

export interface StatusTransition {
  readonly from: SensorStatus
  readonly to: SensorStatus
  /** Receipt time (epoch ms) of the batch that caused it. */
  readonly at: number
  readonly reason: string
}
