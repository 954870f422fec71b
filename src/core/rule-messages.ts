/**
 * The human text of alert signals. Built only when a signal is emitted, never per reading, and
 * always naming the rule's limit so a notification makes sense without looking the rule up.
 */
import type { FlatlineRule, PredictedBreachRule, RateOfChangeRule, SuspectShareRule, ThresholdRule } from "../domain/rule-kinds.js"

/** Ten significant digits: 0.1 + 0.2 reads as 0.3 while real differences still show. */
export const formatNumber = (x: number): string => String(Number(x.toPrecision(10)))

const formatSlope = (x: number): string => String(Number(x.toPrecision(3)))

const percent = (share: number): string => `${Math.round(share * 1000) / 10}%`

const limits = (low: number | null, high: number | null): string => {
  if (low === null) return `high ${formatNumber(high ?? Number.NaN)}`
  if (high === null) return `low ${formatNumber(low)}`
  return `low ${formatNumber(low)}, high ${formatNumber(high)}`
}

const byDeadband = (deadband: number): string => (deadband > 0 ? ` by deadband ${formatNumber(deadband)}` : "")

export const thresholdBreach = (rule: ThresholdRule | PredictedBreachRule, v: number): string =>
  rule.high !== null && v > rule.high
    ? `value ${formatNumber(v)} > high ${formatNumber(rule.high)}`
    : `value ${formatNumber(v)} < low ${formatNumber(rule.low ?? Number.NaN)}`

export const thresholdRaised = (rule: ThresholdRule, v: number): string =>
  rule.forSeconds > 0 ? `${thresholdBreach(rule, v)} for ${formatNumber(rule.forSeconds)} s` : thresholdBreach(rule, v)

export const thresholdCleared = (rule: ThresholdRule, v: number): string =>
  `value ${formatNumber(v)} back within ${limits(rule.low, rule.high)}${byDeadband(rule.deadband)}`

export const rateRaised = (rule: RateOfChangeRule, rate: number): string =>
  `rate ${formatNumber(rate)}/s > max ${formatNumber(rule.maxPerSecond)}/s`

export const rateContinues = (rule: RateOfChangeRule, v: number): string =>
  `rate still above max ${formatNumber(rule.maxPerSecond)}/s (value ${formatNumber(v)})`

export const rateCleared = (rule: RateOfChangeRule, rate: number): string =>
  `rate ${formatNumber(rate)}/s back within max ${formatNumber(rule.maxPerSecond)}/s${byDeadband(rule.deadband)}`

export const flatlineBreach = (rule: FlatlineRule, v: number, runLength: number, elapsedMs: number): string =>
  rule.readings !== null && runLength >= rule.readings
    ? `value ${formatNumber(v)} unchanged for ${runLength} readings`
    : `value ${formatNumber(v)} unchanged for ${formatNumber(elapsedMs / 1000)} s (limit ${formatNumber(rule.seconds ?? Number.NaN)} s)`

export const flatlineCleared = (v: number): string => `value changed to ${formatNumber(v)}`

export const shareRaised = (rule: SuspectShareRule, suspect: number, count: number): string =>
  `suspect share ${percent(suspect / count)} > ${percent(rule.maxShare)} (${suspect} of ${count} readings)`

export const shareContinues = (rule: SuspectShareRule, share: number): string =>
  `suspect share still ${percent(share)} > ${percent(rule.maxShare)}`

export const shareCleared = (rule: SuspectShareRule, suspect: number, count: number): string =>
  `suspect share ${percent(suspect / count)} <= ${percent(rule.maxShare / 2)}`

const crossing = (rule: PredictedBreachRule, high: boolean): string =>
  high ? `exceed high ${formatNumber(rule.high ?? Number.NaN)}` : `fall below low ${formatNumber(rule.low ?? Number.NaN)}`

export const predictedRaised = (rule: PredictedBreachRule, crossesHigh: boolean, slope: number): string =>
  `predicted to ${crossing(rule, crossesHigh)} within ${formatNumber(rule.horizonSeconds)} s (slope ${formatSlope(slope)}/s)`

export const predictedContinues = (rule: PredictedBreachRule, v: number): string =>
  `still predicted to cross ${limits(rule.low, rule.high)} within ${formatNumber(rule.horizonSeconds)} s (value ${formatNumber(v)})`

export const predictedCleared = (rule: PredictedBreachRule, slope: number): string =>
  `no longer predicted to cross ${limits(rule.low, rule.high)} within ${formatNumber(rule.horizonSeconds)} s (slope ${formatSlope(slope)}/s)`

export const predictedBreached = (rule: PredictedBreachRule, v: number): string => `breached: ${thresholdBreach(rule, v)}`

export const statusMessage = (status: string, reason: string | null): string =>
  reason === null || reason === "" ? `status ${status}` : `status ${status}: ${reason}`
