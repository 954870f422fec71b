/**
 * Rules decided per accepted reading, in arrival order: threshold, rate of change, flatline.
 * Rejected (and, defensively, non-finite) readings are skipped: they never reached the window either.
 */
import { flatlineBreach, flatlineCleared, rateCleared, rateRaised, thresholdCleared, thresholdRaised } from "./rule-messages.js"
import { breaching, clear, type Emitter, raise } from "./rule-signals.js"
import type { BatchView, RuleState } from "./rule-types.js"
import type { FlatlineRule, RateOfChangeRule, ThresholdRule } from "../domain/rule-kinds.js"

const stepThreshold = (em: Emitter, rule: ThresholdRule, st: RuleState, ts: number, v: number): void => {
  if ((rule.high !== null && v > rule.high) || (rule.low !== null && v < rule.low)) {
    breaching(st, ts, v)
    if (st.active) return
    if (Number.isNaN(st.since)) st.since = ts
    if (ts - st.since >= rule.forSeconds * 1000) raise(em, rule, st, ts, v, thresholdRaised(rule, v))
  } else if (!st.active) {
    st.since = Number.NaN
    st.pending = 0
    st.lastValue = Number.NaN
    st.lastAt = Number.NaN
  } else if (
    (rule.high === null || v <= rule.high - rule.deadband) &&
    (rule.low === null || v >= rule.low + rule.deadband)
  ) {
    // `<=`: with no deadband the first non-breaching value clears, so `active` mirrors the last value.
    clear(em, rule, st, ts, v, thresholdCleared(rule, v))
  }
}

const stepRate = (em: Emitter, rule: RateOfChangeRule, st: RuleState, ts: number, v: number): void => {
  const dt = ts - st.prevTs
  const dv = Math.abs(v - st.prevValue)
  st.prevTs = ts
  st.prevValue = v
  // NaN (no previous reading) fails this too.
  if (!(dt > 0)) return
  const rate = (dv / dt) * 1000
  if (rate > rule.maxPerSecond) {
    breaching(st, ts, v)
    if (!st.active) raise(em, rule, st, ts, v, rateRaised(rule, rate))
  } else if (st.active && rate <= rule.maxPerSecond - rule.deadband) {
    clear(em, rule, st, ts, v, rateCleared(rule, rate))
  }
}

const stepFlatline = (em: Emitter, rule: FlatlineRule, st: RuleState, ts: number, v: number): void => {
  if (st.runLength > 0 && v === st.runValue) {
    st.runLength++
  } else {
    if (st.active) clear(em, rule, st, ts, v, flatlineCleared(v))
    st.runStart = ts
    st.runValue = v
    st.runLength = 1
  }
  const elapsed = ts - st.runStart
  const stuck =
    (rule.readings !== null && st.runLength >= rule.readings) || (rule.seconds !== null && elapsed >= rule.seconds * 1000)
  if (!stuck) return
  breaching(st, ts, v)
  if (!st.active) raise(em, rule, st, ts, v, flatlineBreach(rule, v, st.runLength, elapsed))
}

export type ValueRule = ThresholdRule | RateOfChangeRule | FlatlineRule

export const evaluateReadings = (em: Emitter, rule: ValueRule, st: RuleState, batch: BatchView): void => {
  for (let i = 0; i < batch.length; i++) {
    const code = batch.codes[i] ?? -1
    const ts = batch.ts[i] ?? Number.NaN
    const v = batch.values[i] ?? Number.NaN
    if (code < 0 || !Number.isFinite(ts) || !Number.isFinite(v)) continue
    switch (rule.kind) {
      case "threshold":
        stepThreshold(em, rule, st, ts, v)
        break
      case "rate_of_change":
        stepRate(em, rule, st, ts, v)
        break
      case "flatline":
        stepFlatline(em, rule, st, ts, v)
    }
  }
}
