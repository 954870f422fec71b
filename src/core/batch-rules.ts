/**
 * Rules decided once per batch: suspect share and predicted breach on the window after the batch
 * (only when the batch accepted something, otherwise the window did not move), status on the
 * batch's status changes.
 */
import { predictedBreached, predictedCleared, predictedRaised, shareCleared, shareRaised, statusMessage } from "./rule-messages.js"
import { clear, type Emitter, raise } from "./rule-signals.js"
import type { RuleState, StatusChange, WindowView } from "./rule-types.js"
import type { PredictedBreachRule, StatusRule, SuspectShareRule } from "../domain/rule-kinds.js"
import type { SensorStatus } from "../domain/reasons.js"

export const evaluateShare = (em: Emitter, rule: SuspectShareRule, st: RuleState, w: WindowView, accepted: number): void => {
  if (accepted === 0 || w.count <= 0 || w.count < rule.minSamples) return
  const share = w.suspect / w.count
  if (share > rule.maxShare) {
    st.pending += accepted
    st.lastValue = share
    st.lastAt = w.lastTs
    if (!st.active) raise(em, rule, st, w.lastTs, share, shareRaised(rule, w.suspect, w.count))
  } else if (st.active && share <= rule.maxShare / 2) {
    clear(em, rule, st, w.lastTs, share, shareCleared(rule, w.suspect, w.count))
  }
}

export const evaluatePrediction = (em: Emitter, rule: PredictedBreachRule, st: RuleState, w: WindowView, accepted: number): void => {
  const v = w.lastValue
  const slope = w.slopePerSecond
  if (accepted === 0 || w.count < rule.minSamples || !Number.isFinite(v) || !Number.isFinite(slope)) return
  if ((rule.high !== null && v > rule.high) || (rule.low !== null && v < rule.low)) {
    // Already beyond the limit: the threshold rule owns it now.
    if (st.active) clear(em, rule, st, w.lastTs, v, predictedBreached(rule, v))
    return
  }
  const projected = v + slope * rule.horizonSeconds
  const crossesHigh = rule.high !== null && projected > rule.high
  if (crossesHigh || (rule.low !== null && projected < rule.low)) {
    st.pending += accepted
    st.lastValue = v
    st.lastAt = w.lastTs
    if (!st.active) raise(em, rule, st, w.lastTs, v, predictedRaised(rule, crossesHigh, slope))
  } else if (st.active) {
    clear(em, rule, st, w.lastTs, v, predictedCleared(rule, slope))
  }
}

const inStatuses = (rule: StatusRule, status: string): boolean => {
  for (const s of rule.statuses) if (s === status) return true
  return false
}

export const evaluateStatus = (
  em: Emitter,
  rule: StatusRule,
  st: RuleState,
  transitions: ReadonlyArray<StatusChange>,
  status: SensorStatus,
  batchLength: number
): void => {
  for (const t of transitions) {
    const inside = inStatuses(rule, t.to)
    if (inside && !st.active) raise(em, rule, st, t.at, Number.NaN, statusMessage(t.to, t.reason))
    else if (!inside && st.active) clear(em, rule, st, t.at, Number.NaN, statusMessage(t.to, t.reason))
  }
  // Reconciles a rule added (or restored) while the sensor already was in, or out of, the status.
  const inside = inStatuses(rule, status)
  if (inside && !st.active) raise(em, rule, st, em.receivedAt, Number.NaN, statusMessage(status, null))
  else if (!inside && st.active) clear(em, rule, st, em.receivedAt, Number.NaN, statusMessage(status, null))
  else if (inside && em.out.length === em.start) {
    st.pending += batchLength
    st.lastAt = em.receivedAt
  }
}
