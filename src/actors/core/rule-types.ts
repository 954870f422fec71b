/**
 * Alert rules as the pure core sees them: decoded once at the edge (src/domain/alert-rules.ts),
 * defaults applied, never re-validated here. Plain types only, so both sides can import them.
 */

export type Severity = "info" | "warning" | "critical"

export type RuleKind =
  | "threshold"
  | "rate_of_change"
  | "flatline"
  | "suspect_share"
  | "status"
  | "offline"
  | "predicted_breach"

interface RuleBase {
  readonly id: string
  readonly severity: Severity
  /** Overrides ALERT_COOLDOWN_MS for this rule; null keeps the global setting. */
  readonly cooldownSeconds: number | null
}

/** Value above `high` or below `low`; raised once the breach has lasted `forSeconds` of reading time. */
export interface ThresholdRule extends RuleBase {
  readonly kind: "threshold"
  readonly high: number | null
  readonly low: number | null
  /** Clears only once the value is back inside by this much, so a value hovering at the limit does not flap. */
  readonly deadband: number
  readonly forSeconds: number
}

/** |dv/dt| between consecutive accepted readings, per second. */
export interface RateOfChangeRule extends RuleBase {
  readonly kind: "rate_of_change"
  readonly maxPerSecond: number
  readonly deadband: number
}

/** The same value repeated for `readings` readings (including the first) or for `seconds` of reading time. */
export interface FlatlineRule extends RuleBase {
  readonly kind: "flatline"
  readonly readings: number | null
  readonly seconds: number | null
}

/** Suspect share of the window above `maxShare` (with at least `minSamples`); clears at half of it. */
export interface SuspectShareRule extends RuleBase {
  readonly kind: "suspect_share"
  readonly maxShare: number
  readonly minSamples: number
}

/** Raised while the sensor status is one of `statuses`. */
export interface StatusRule extends RuleBase {
  readonly kind: "status"
  readonly statuses: ReadonlyArray<"degraded" | "fault">
}

/** No reading for `afterSeconds`: decided by the sweeper over last_seen, never by the batch evaluator. */
export interface OfflineRule extends RuleBase {
  readonly kind: "offline"
  readonly afterSeconds: number
}

/** The window's trend, projected `horizonSeconds` ahead from the last reading, crosses a limit. */
export interface PredictedBreachRule extends RuleBase {
  readonly kind: "predicted_breach"
  readonly high: number | null
  readonly low: number | null
  readonly horizonSeconds: number
  readonly minSamples: number
}

export type AlertRule =
  | ThresholdRule
  | RateOfChangeRule
  | FlatlineRule
  | SuspectShareRule
  | StatusRule
  | OfflineRule
  | PredictedBreachRule

/**
 * What the evaluator remembers per rule between batches, index-aligned with the rules array.
 * Numbers, never objects, so a state is cheap to step and to save; NaN means "none".
 */
export interface RuleState {
  active: boolean
  /** ts of the first reading of the current, not yet raised breach run. */
  since: number
  /** flatline: ts where the current run of identical values started, its value and length. */
  runStart: number
  runValue: number
  runLength: number
  /** rate_of_change: the previous accepted reading. */
  prevTs: number
  prevValue: number
  /** Breaching readings since the last signal. */
  pending: number
  /** Value and ts of the last breaching reading. */
  lastValue: number
  lastAt: number
  /** receivedAt of the last raised or continues signal. */
  lastSignalAt: number
}

export interface AlertSignal {
  readonly rule: string
  readonly kind: RuleKind
  readonly severity: Severity
  readonly signal: "raised" | "continues" | "cleared"
  /** ts of the deciding reading; receivedAt for status-driven signals. */
  readonly at: number
  readonly value: number | null
  /** Breaching readings since the previous signal of this rule (>= 1 for raised). */
  readonly count: number
  /** Human, names the rule's limit: "value 93.2 > high 90". */
  readonly message: string
  /** rule.cooldownSeconds in ms, or null for the global cooldown. */
  readonly cooldownMs: number | null
}

/** One batch as decided by the core: codes[i] >= 0 accepted (0 good, > 0 suspect flags), < 0 rejected. */
export interface BatchView {
  readonly ts: ArrayLike<number>
  readonly values: ArrayLike<number>
  readonly codes: ArrayLike<number>
  readonly length: number
}

/** The sliding window after the batch. */
export interface WindowView {
  readonly count: number
  readonly suspect: number
  readonly slopePerSecond: number
  readonly meanValue: number
  readonly meanTs: number
  readonly lastTs: number
  readonly lastValue: number
}

/** A status change of the batch; the core's `StatusTransition` is one. */
export interface StatusChange {
  readonly from: string
  readonly to: string
  readonly at: number
  readonly reason: string
}
