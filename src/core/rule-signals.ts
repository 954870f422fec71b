/**
 * How the evaluators emit: one output per batch, each rule's raised/cleared signals folded so a
 * rule gives at most two per batch while raised and cleared still alternate.
 */
import type { AlertSignal, RuleState } from "./rule-types.js"
import type { AlertRule } from "../domain/rule-kinds.js"

/** One per batch: the output and where the current rule's signals begin in it. */
export interface Emitter {
  readonly out: AlertSignal[]
  start: number
  readonly receivedAt: number
}

export const makeSignal = (
  rule: AlertRule,
  signal: AlertSignal["signal"],
  at: number,
  value: number,
  count: number,
  message: string
): AlertSignal => ({
  rule: rule.id,
  kind: rule.kind,
  severity: rule.severity,
  signal,
  at,
  value: Number.isFinite(value) ? value : null,
  count,
  message,
  cooldownMs: rule.cooldownSeconds === null ? null : rule.cooldownSeconds * 1000
})

/**
 * Appends a raised/cleared signal, folding a third one of the same rule and batch: R C R keeps the
 * first raise (the alert never really ended; the folded counts stay pending), C R C keeps the last
 * clear (the old alert covered the short re-raise) with all three counts.
 */
const push = (em: Emitter, s: AlertSignal, st: RuleState): void => {
  const out = em.out
  if (out.length - em.start < 2) {
    out.push(s)
    return
  }
  const first = out[em.start]!
  const second = out[em.start + 1]!
  out.length = em.start + 1
  if (first.signal === "raised") {
    st.pending += second.count + s.count
    return
  }
  out[em.start] = { ...s, count: first.count + second.count + s.count }
}

export const raise = (em: Emitter, rule: AlertRule, st: RuleState, at: number, value: number, message: string): void => {
  const s = makeSignal(rule, "raised", at, value, Math.max(1, st.pending), message)
  st.active = true
  st.since = Number.NaN
  st.pending = 0
  st.lastSignalAt = em.receivedAt
  push(em, s, st)
}

export const clear = (em: Emitter, rule: AlertRule, st: RuleState, at: number, value: number, message: string): void => {
  const s = makeSignal(rule, "cleared", at, value, st.pending, message)
  st.active = false
  st.since = Number.NaN
  st.pending = 0
  st.lastValue = Number.NaN
  st.lastAt = Number.NaN
  push(em, s, st)
}

export const breaching = (st: RuleState, ts: number, v: number): void => {
  st.pending++
  st.lastValue = v
  st.lastAt = ts
}
