/**
 * Alert rules as the pure core sees them: decoded once at the edge (alert-rules.ts beside this),
 * defaults applied, never re-validated in the core. Plain types only: shared vocabulary of the
 * API's schema, the core's evaluator, storage and the notifier.
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
