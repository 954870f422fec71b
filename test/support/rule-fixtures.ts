/**
 * Rules, batches and a stepping harness for the alert-rule tests: one sensor's rules and states,
 * stepped batch by batch the way the entity does.
 */
import type { AlertRule, FlatlineRule, PredictedBreachRule, RateOfChangeRule, StatusRule, SuspectShareRule, ThresholdRule } from "../../src/domain/rule-kinds.js"
import {
  type AlertSignal,
  type BatchView,
  createRuleStates,
  evaluateBatch,
  type RuleState,
  type StatusChange,
  type WindowView
} from "../../src/core/rules.js"
import type { SensorStatus } from "../../src/domain/reasons.js"

export const common = { severity: "warning", cooldownSeconds: null } satisfies Pick<AlertRule, "severity" | "cooldownSeconds">

export const threshold = (patch: Partial<ThresholdRule> = {}): ThresholdRule => ({
  id: "hot", kind: "threshold", ...common, high: 90, low: null, deadband: 0, forSeconds: 0, ...patch
})
export const rate = (patch: Partial<RateOfChangeRule> = {}): RateOfChangeRule => ({
  id: "jump", kind: "rate_of_change", ...common, maxPerSecond: 10, deadband: 0, ...patch
})
export const flatline = (patch: Partial<FlatlineRule> = {}): FlatlineRule => ({
  id: "stuck", kind: "flatline", ...common, readings: 3, seconds: null, ...patch
})
export const share = (patch: Partial<SuspectShareRule> = {}): SuspectShareRule => ({
  id: "noisy", kind: "suspect_share", ...common, maxShare: 0.3, minSamples: 10, ...patch
})
export const statusRule = (patch: Partial<StatusRule> = {}): StatusRule => ({
  id: "health", kind: "status", ...common, statuses: ["degraded"], ...patch
})
export const predicted = (patch: Partial<PredictedBreachRule> = {}): PredictedBreachRule => ({
  id: "trend", kind: "predicted_breach", ...common, high: 90, low: null, horizonSeconds: 300, minSamples: 3, ...patch
})

const emptyWindow: WindowView = {
  count: 0, suspect: 0, slopePerSecond: 0, meanValue: Number.NaN, meanTs: Number.NaN, lastTs: Number.NaN, lastValue: Number.NaN
}

/** Readings as [ts, value] or [ts, value, code]; code defaults to 0 (accepted, good). */
export type Reading = readonly [number, number] | readonly [number, number, number]

export const batchOf = (readings: ReadonlyArray<Reading>): BatchView => ({
  ts: readings.map((r) => r[0]),
  values: readings.map((r) => r[1]),
  codes: readings.map((r) => r[2] ?? 0),
  length: readings.length
})

export interface StepOptions {
  readonly receivedAt?: number
  readonly window?: Partial<WindowView>
  readonly transitions?: ReadonlyArray<StatusChange>
  readonly status?: SensorStatus
  readonly interval?: number
}

/** One sensor's rules and states, stepped batch by batch like the entity will. */
export const sensor = (rules: ReadonlyArray<AlertRule>, states: RuleState[] = createRuleStates(rules)) => ({
  rules,
  states,
  step: (readings: ReadonlyArray<Reading>, o: StepOptions = {}): ReadonlyArray<AlertSignal> =>
    evaluateBatch(
      rules,
      states,
      batchOf(readings),
      { ...emptyWindow, ...o.window },
      o.transitions ?? [],
      o.status ?? "online",
      o.receivedAt ?? 0,
      o.interval ?? 10_000
    )
})

export const kinds = (signals: ReadonlyArray<AlertSignal>) => signals.map((s) => s.signal)
