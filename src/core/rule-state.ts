/**
 * Rule states across the things that happen between batches: a config change (carry what is
 * still valid, close what is not) and a save/restore through JSON (passivation, handover).
 */
import type { AlertSignal, RuleState } from "./rule-types.js"
import type { AlertRule } from "../domain/rule-kinds.js"

export const freshRuleState = (): RuleState => ({
  active: false,
  since: Number.NaN,
  runStart: Number.NaN,
  runValue: Number.NaN,
  runLength: 0,
  prevTs: Number.NaN,
  prevValue: Number.NaN,
  pending: 0,
  lastValue: Number.NaN,
  lastAt: Number.NaN,
  lastSignalAt: Number.NaN
})

export const createRuleStates = (rules: ReadonlyArray<AlertRule>): RuleState[] => rules.map(freshRuleState)

/**
 * Key order of a rule depends on who built it (the schema, a test, a stored row), so rules are
 * compared through a key-sorted rendering; `statuses`, the only nested value, is an array of strings.
 */
const canonical = (rule: AlertRule): string => JSON.stringify(rule, Object.keys(rule).sort())

const indexOfId = (rules: ReadonlyArray<AlertRule>, id: string): number => rules.findIndex((r) => r.id === id)

/**
 * States for `newRules`: a rule whose id and definition are unchanged keeps its state, any other
 * starts fresh. An active alert whose rule changed or went away gets a "cleared" signal, so no
 * alert stays open for a rule that can no longer clear it.
 */
export const carryRuleStates = (
  oldRules: ReadonlyArray<AlertRule>,
  oldStates: ReadonlyArray<RuleState>,
  newRules: ReadonlyArray<AlertRule>,
  now: number
): { states: RuleState[]; signals: ReadonlyArray<AlertSignal> } => {
  const kept = oldRules.map((old) => {
    const j = indexOfId(newRules, old.id)
    const next = j < 0 ? undefined : newRules[j]
    return next !== undefined && canonical(next) === canonical(old)
  })
  const states = newRules.map((rule) => {
    const i = indexOfId(oldRules, rule.id)
    const state = oldStates[i]
    return i >= 0 && kept[i] === true && state !== undefined ? state : freshRuleState()
  })
  const signals: AlertSignal[] = []
  for (let i = 0; i < oldRules.length; i++) {
    const old = oldRules[i]!
    const state = oldStates[i]
    if (kept[i] === true || state === undefined || !state.active) continue
    signals.push({
      rule: old.id,
      kind: old.kind,
      severity: old.severity,
      signal: "cleared",
      at: now,
      value: Number.isFinite(state.lastValue) ? state.lastValue : null,
      count: state.pending,
      message: indexOfId(newRules, old.id) < 0 ? "rule removed" : "rule changed",
      cooldownMs: old.cooldownSeconds === null ? null : old.cooldownSeconds * 1000
    })
  }
  return { states, signals }
}

/** JSON has no NaN: "none" is saved as null. */
export interface RuleStateJson {
  readonly id: string
  readonly active: boolean
  readonly since: number | null
  readonly runStart: number | null
  readonly runValue: number | null
  readonly runLength: number
  readonly prevTs: number | null
  readonly prevValue: number | null
  readonly pending: number
  readonly lastValue: number | null
  readonly lastAt: number | null
  readonly lastSignalAt: number | null
}

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null)

export const ruleStatesToJson = (rules: ReadonlyArray<AlertRule>, states: ReadonlyArray<RuleState>): RuleStateJson[] => {
  const out: RuleStateJson[] = []
  for (let i = 0; i < rules.length; i++) {
    const s = states[i]
    if (s === undefined) continue
    out.push({
      id: rules[i]!.id,
      active: s.active,
      since: orNull(s.since),
      runStart: orNull(s.runStart),
      runValue: orNull(s.runValue),
      runLength: s.runLength,
      prevTs: orNull(s.prevTs),
      prevValue: orNull(s.prevValue),
      pending: s.pending,
      lastValue: orNull(s.lastValue),
      lastAt: orNull(s.lastAt),
      lastSignalAt: orNull(s.lastSignalAt)
    })
  }
  return out
}

/** null is "none"; anything else that is not a finite number marks the entry as garbled (undefined). */
const optionalNumber = (x: unknown): number | undefined =>
  x === null ? Number.NaN : typeof x === "number" && Number.isFinite(x) ? x : undefined

const counter = (x: unknown): number | undefined =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= 0 ? x : undefined

const parseEntry = (e: unknown): { readonly id: string; readonly state: RuleState } | null => {
  if (typeof e !== "object" || e === null || !("id" in e) || typeof e.id !== "string") return null
  const active = "active" in e ? e.active : undefined
  const state = {
    active: typeof active === "boolean" ? active : undefined,
    since: optionalNumber("since" in e ? e.since : undefined),
    runStart: optionalNumber("runStart" in e ? e.runStart : undefined),
    runValue: optionalNumber("runValue" in e ? e.runValue : undefined),
    runLength: counter("runLength" in e ? e.runLength : undefined),
    prevTs: optionalNumber("prevTs" in e ? e.prevTs : undefined),
    prevValue: optionalNumber("prevValue" in e ? e.prevValue : undefined),
    pending: counter("pending" in e ? e.pending : undefined),
    lastValue: optionalNumber("lastValue" in e ? e.lastValue : undefined),
    lastAt: optionalNumber("lastAt" in e ? e.lastAt : undefined),
    lastSignalAt: optionalNumber("lastSignalAt" in e ? e.lastSignalAt : undefined)
  }
  const {
    active: a, since, runStart, runValue, runLength, prevTs, prevValue, pending, lastValue, lastAt, lastSignalAt
  } = state
  if (
    a === undefined || since === undefined || runStart === undefined || runValue === undefined ||
    runLength === undefined || prevTs === undefined || prevValue === undefined || pending === undefined ||
    lastValue === undefined || lastAt === undefined || lastSignalAt === undefined
  ) {
    return null
  }
  return {
    id: e.id,
    state: { active: a, since, runStart, runValue, runLength, prevTs, prevValue, pending, lastValue, lastAt, lastSignalAt }
  }
}

/**
 * Restores states saved by `ruleStatesToJson` for the current rules, matched by id. Stored JSON is
 * untrusted: a missing, unknown or garbled entry gives that rule a fresh state instead of failing.
 */
export const ruleStatesFromJson = (rules: ReadonlyArray<AlertRule>, json: unknown): RuleState[] => {
  const entries: ReadonlyArray<unknown> = Array.isArray(json) ? json : []
  const byId = new Map<string, RuleState>()
  for (const e of entries) {
    const parsed = parseEntry(e)
    if (parsed !== null && !byId.has(parsed.id)) byId.set(parsed.id, parsed.state)
  }
  return rules.map((r) => byId.get(r.id) ?? freshRuleState())
}
