import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { ThresholdRule } from "../../src/domain/rule-kinds.js"
import {
  type AlertSignal,
  carryRuleStates,
  createRuleStates,
  ruleStatesFromJson,
  ruleStatesToJson
} from "../../src/core/rules.js"
import {
  flatline,
  predicted,
  type Reading,
  rate,
  type StepOptions,
  sensor,
  share,
  statusRule,
  threshold
} from "../support/rule-fixtures.js"

describe("carryRuleStates", () => {
  it("keeps unchanged rules, starts changed ones fresh and clears their open alerts", () => {
    const kept = threshold({ id: "a" })
    const old = [kept, threshold({ id: "b" }), threshold({ id: "c" }), threshold({ id: "d", high: 1_000 })]
    const s = sensor(old)
    s.step([[1, 95]])
    const next = [
      { ...threshold({ id: "a" }) },
      threshold({ id: "b", high: 99 }),
      threshold({ id: "e" }),
      threshold({ id: "d", high: 2_000 })
    ]
    const { states, signals } = carryRuleStates(old, s.states, next, 777)
    expect(states[0]).toBe(s.states[0])
    expect(states.slice(1)).toEqual(createRuleStates(next.slice(1)))
    expect(signals).toEqual([
      { rule: "b", kind: "threshold", severity: "warning", signal: "cleared", at: 777, value: 95, count: 0, message: "rule changed", cooldownMs: null },
      { rule: "c", kind: "threshold", severity: "warning", signal: "cleared", at: 777, value: 95, count: 0, message: "rule removed", cooldownMs: null }
    ])
  })

  it("compares definitions, not key order", () => {
    const a = threshold()
    const reordered: ThresholdRule = {
      forSeconds: a.forSeconds, deadband: a.deadband, low: a.low, high: a.high, cooldownSeconds: null, severity: "warning", kind: "threshold", id: a.id
    }
    const s = sensor([a])
    s.step([[1, 95]])
    const { states, signals } = carryRuleStates([a], s.states, [reordered], 0)
    expect(states[0]).toBe(s.states[0])
    expect(signals).toEqual([])
  })
})

describe("rule states in JSON", () => {
  const rules = [threshold({ forSeconds: 2 }), rate(), flatline(), share(), statusRule(), predicted()]
  const batches: ReadonlyArray<{ readings: ReadonlyArray<Reading>; opts: StepOptions }> = [
    { readings: [[0, 50], [1_000, 95], [2_000, 95]], opts: { receivedAt: 0, window: { count: 10, suspect: 5, lastTs: 2_000, lastValue: 95, slopePerSecond: 1 } } },
    { readings: [[3_000, 95], [4_000, 96]], opts: { receivedAt: 5_000, status: "degraded", window: { count: 10, suspect: 5, lastTs: 4_000, lastValue: 60, slopePerSecond: 1 } } },
    { readings: [[5_000, 96], [6_000, 120]], opts: { receivedAt: 20_000, status: "degraded", window: { count: 10, suspect: 1, lastTs: 6_000, lastValue: 70, slopePerSecond: 0 } } },
    { readings: [[7_000, 10], [8_000, 10], [9_000, 10]], opts: { receivedAt: 40_000, window: { count: 10, suspect: 0, lastTs: 9_000, lastValue: 10, slopePerSecond: 0 } } }
  ]

  const runAll = (cut: number | null) => {
    let s = sensor(rules)
    const out: AlertSignal[] = []
    batches.forEach((b, i) => {
      if (i === cut) s = sensor(rules, ruleStatesFromJson(rules, JSON.parse(JSON.stringify(ruleStatesToJson(rules, s.states)))))
      out.push(...s.step(b.readings, b.opts))
    })
    return { out, states: s.states }
  }

  it("restored states continue exactly like the originals", () => {
    const whole = runAll(null)
    expect(whole.out.length).toBeGreaterThan(5)
    for (let cut = 0; cut <= batches.length; cut++) {
      const split = runAll(cut)
      expect(split.out).toEqual(whole.out)
      expect(split.states).toEqual(whole.states)
    }
  })

  it("saves NaN as null and matches entries by rule id", () => {
    const json = ruleStatesToJson([threshold()], createRuleStates([threshold()]))
    expect(json).toEqual([
      {
        id: "hot", active: false, since: null, runStart: null, runValue: null, runLength: 0, prevTs: null, prevValue: null,
        pending: 0, lastValue: null, lastAt: null, lastSignalAt: null
      }
    ])
    const active = { ...json[0]!, id: "b", active: true }
    const restored = ruleStatesFromJson([threshold({ id: "a" }), threshold({ id: "b" })], [active])
    expect(restored.map((s) => s.active)).toEqual([false, true])
  })

  it("falls back to fresh states for anything garbled, and never throws", () => {
    const fresh = createRuleStates(rules)
    expect(ruleStatesFromJson(rules, "nope")).toEqual(fresh)
    expect(ruleStatesFromJson(rules, [null, 3, { id: "hot", active: "yes" }, { id: "hot", active: true }])).toEqual(fresh)
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        expect(ruleStatesFromJson(rules, junk)).toHaveLength(rules.length)
        expect(ruleStatesFromJson(rules, [junk])).toHaveLength(rules.length)
      })
    )
  })
})
