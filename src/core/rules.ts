/**
 * The alert-rule evaluator: plain functions over plain data, stepped by the sensor once per batch
 * after the core has decided it. Value rules look at each accepted reading in order, window rules
 * at the window after the batch, status rules at the batch's status changes.
 *
 * Per rule and batch it emits at most one signal, or two when the condition both started and
 * ended (or ended and restarted) inside the batch; shorter flaps inside one batch fold into the
 * surrounding alert, counts included (see rule-signals.ts), so nothing is lost.
 */
import { evaluatePrediction, evaluateShare, evaluateStatus } from "./batch-rules.js"
import { evaluateReadings } from "./reading-rules.js"
import {
  flatlineBreach,
  predictedContinues,
  rateContinues,
  shareContinues,
  statusMessage,
  thresholdBreach
} from "./rule-messages.js"
import { type Emitter, makeSignal } from "./rule-signals.js"
import type { AlertSignal, BatchView, RuleState, StatusChange, WindowView } from "./rule-types.js"
import type { AlertRule } from "../domain/rule-kinds.js"
import type { SensorStatus } from "../domain/reasons.js"

export type { AlertSignal, BatchView, RuleState, StatusChange, WindowView } from "./rule-types.js"
export {
  carryRuleStates,
  createRuleStates,
  type RuleStateJson,
  ruleStatesFromJson,
  ruleStatesToJson
} from "./rule-state.js"

const NO_SIGNALS: ReadonlyArray<AlertSignal> = Object.freeze([])

/** From the state, not the window: the last evaluation may not have been a breach. */
const continuesMessage = (rule: AlertRule, st: RuleState, status: SensorStatus): string => {
  switch (rule.kind) {
    case "threshold":
      return thresholdBreach(rule, st.lastValue)
    case "rate_of_change":
      return rateContinues(rule, st.lastValue)
    case "flatline":
      return flatlineBreach(rule, st.runValue, st.runLength, st.lastAt - st.runStart)
    case "suspect_share":
      return shareContinues(rule, st.lastValue)
    case "predicted_breach":
      return predictedContinues(rule, st.lastValue)
    case "status":
    case "offline":
      return statusMessage(status, null)
  }
}

/** While active, a throttled update with the breaching readings since the last signal. */
const maybeContinue = (
  em: Emitter,
  rule: AlertRule,
  st: RuleState,
  status: SensorStatus,
  updateIntervalMs: number
): void => {
  // A NaN lastSignalAt (restored from old state) fails the comparison, so an update goes out.
  if (!st.active || st.pending <= 0 || em.receivedAt - st.lastSignalAt < updateIntervalMs) return
  const at = Number.isFinite(st.lastAt) ? st.lastAt : em.receivedAt
  em.out.push(makeSignal(rule, "continues", at, st.lastValue, st.pending, continuesMessage(rule, st, status)))
  st.pending = 0
  st.lastSignalAt = em.receivedAt
}

const countAccepted = (batch: BatchView): number => {
  let n = 0
  for (let i = 0; i < batch.length; i++) if ((batch.codes[i] ?? -1) >= 0) n++
  return n
}

/**
 * Steps every rule over one decided batch; `states` (index-aligned with `rules`) are updated in
 * place. Returns the signals in rule order, or a shared empty array, so a sensor without rules
 * pays nothing.
 */
export const evaluateBatch = (
  rules: ReadonlyArray<AlertRule>,
  states: ReadonlyArray<RuleState>,
  batch: BatchView,
  window: WindowView,
  transitions: ReadonlyArray<StatusChange>,
  status: SensorStatus,
  receivedAt: number,
  updateIntervalMs: number
): ReadonlyArray<AlertSignal> => {
  if (rules.length === 0) return NO_SIGNALS
  const accepted = countAccepted(batch)
  const em: Emitter = { out: [], start: 0, receivedAt }
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r]!
    const st = states[r]
    if (st === undefined) continue
    em.start = em.out.length
    switch (rule.kind) {
      case "threshold":
      case "rate_of_change":
      case "flatline":
        evaluateReadings(em, rule, st, batch)
        break
      case "suspect_share":
        evaluateShare(em, rule, st, window, accepted)
        break
      case "predicted_breach":
        evaluatePrediction(em, rule, st, window, accepted)
        break
      case "status":
        evaluateStatus(em, rule, st, transitions, status, batch.length)
        break
      case "offline":
        continue
    }
    if (em.out.length === em.start) maybeContinue(em, rule, st, status, updateIntervalMs)
  }
  return em.out.length === 0 ? NO_SIGNALS : em.out
}
