/** What the core's rule evaluator works with: its per-rule state, the signals it emits and its views of a batch. */
import type { RuleKind, Severity } from "../domain/rule-kinds.js"

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
