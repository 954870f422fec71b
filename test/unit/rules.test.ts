import { describe, expect, it } from "@effect/vitest"
import { createRuleStates, type StatusChange, type WindowView } from "../../src/core/rules.js"
import {
  common,
  flatline,
  kinds,
  predicted,
  rate,
  sensor,
  share,
  statusRule,
  threshold
} from "../support/rule-fixtures.js"

describe("threshold", () => {
  it("raises on the first reading above high, once, and clears when back inside", () => {
    const s = sensor([threshold()])
    const raised = s.step([[1_000, 80], [2_000, 93.2], [3_000, 95]])
    expect(raised).toEqual([
      {
        rule: "hot", kind: "threshold", severity: "warning", signal: "raised", at: 2_000, value: 93.2, count: 1,
        message: "value 93.2 > high 90", cooldownMs: null
      }
    ])
    expect(s.step([[4_000, 96]], { receivedAt: 1 })).toEqual([])
    const cleared = s.step([[5_000, 70]], { receivedAt: 2 })
    expect(cleared).toMatchObject([{ signal: "cleared", at: 5_000, value: 70, count: 2, message: "value 70 back within high 90" }])
  })

  it("watches low too, and carries severity and cooldown", () => {
    const s = sensor([threshold({ high: null, low: 10, severity: "critical", cooldownSeconds: 60 })])
    expect(s.step([[1, 5]])).toMatchObject([
      { signal: "raised", severity: "critical", cooldownMs: 60_000, message: "value 5 < low 10" }
    ])
  })

  it("forSeconds: raises only once the breach has lasted that long, and a dip starts over", () => {
    const s = sensor([threshold({ forSeconds: 60 })])
    expect(s.step([[0, 95], [30_000, 96]])).toEqual([])
    expect(s.step([[40_000, 50], [50_000, 95], [100_000, 95]])).toEqual([])
    expect(s.step([[110_000, 97]])).toMatchObject([
      { signal: "raised", at: 110_000, value: 97, count: 3, message: "value 97 > high 90 for 60 s" }
    ])
  })

  it("deadband: values just inside neither clear nor count; the first one past it clears", () => {
    const s = sensor([threshold({ deadband: 5 })])
    expect(kinds(s.step([[1, 95]]))).toEqual(["raised"])
    expect(s.step([[2, 88], [3, 86], [4, 90]], { receivedAt: 60_000 })).toEqual([])
    expect(s.step([[5, 85]], { receivedAt: 60_001 })).toMatchObject([
      { signal: "cleared", count: 0, message: "value 85 back within high 90 by deadband 5" }
    ])
  })

  it("emits both when a breach starts and ends inside one batch", () => {
    const s = sensor([threshold()])
    expect(s.step([[1, 95], [2, 96], [3, 50]])).toMatchObject([
      { signal: "raised", at: 1, count: 1 },
      { signal: "cleared", at: 3, count: 1 }
    ])
  })

  it("folds a flap inside one batch into the surrounding alert, counts included", () => {
    const s = sensor([threshold()])
    expect(s.step([[1, 95], [2, 50], [3, 96], [4, 97]])).toMatchObject([{ signal: "raised", at: 1, count: 1 }])
    expect(s.step([[5, 98]], { receivedAt: 10_000 })).toMatchObject([{ signal: "continues", count: 3, value: 98 }])
    expect(s.step([[6, 50], [7, 95], [8, 50]], { receivedAt: 10_001 })).toMatchObject([
      { signal: "cleared", at: 8, value: 50, count: 1 }
    ])
    expect(s.states[0]?.active).toBe(false)
  })

  it("continues at most every updateIntervalMs with the readings since the last signal", () => {
    const s = sensor([threshold()])
    s.step([[1_000, 95]], { receivedAt: 1_000 })
    expect(s.step([[2_000, 96], [3_000, 97]], { receivedAt: 5_000 })).toEqual([])
    expect(s.step([[4_000, 98]], { receivedAt: 11_000 })).toEqual([
      {
        rule: "hot", kind: "threshold", severity: "warning", signal: "continues", at: 4_000, value: 98, count: 3,
        message: "value 98 > high 90", cooldownMs: null
      }
    ])
    // Nothing breached since: nothing to report, however long it has been.
    expect(s.step([], { receivedAt: 60_000 })).toEqual([])
  })

  it("ignores rejected readings", () => {
    const s = sensor([threshold()])
    expect(s.step([[1, 95, -1], [2, 99, -3], [3, 50]])).toEqual([])
    expect(s.step([[4, 95]])).toMatchObject([{ signal: "raised" }])
    expect(s.step([[5, 10, -2]], { receivedAt: 60_000 })).toEqual([])
    expect(s.states[0]?.active).toBe(true)
  })

  it("counts suspect readings as accepted", () => {
    expect(kinds(sensor([threshold()]).step([[1, 95, 8]]))).toEqual(["raised"])
  })
})

describe("rate_of_change", () => {
  it("raises above maxPerSecond and clears at or below maxPerSecond - deadband", () => {
    const s = sensor([rate({ deadband: 2 })])
    expect(s.step([[0, 0], [1_000, 5]])).toEqual([])
    expect(s.step([[2_000, 20]])).toMatchObject([{ signal: "raised", at: 2_000, value: 20, message: "rate 15/s > max 10/s" }])
    expect(s.step([[3_000, 29]], { receivedAt: 1 })).toEqual([])
    expect(s.step([[4_000, 37]], { receivedAt: 2 })).toMatchObject([
      { signal: "cleared", message: "rate 8/s back within max 10/s by deadband 2" }
    ])
  })

  it("measures falls too and skips readings without time between them", () => {
    const s = sensor([rate()])
    expect(s.step([[0, 100], [0, 0], [500, 0]])).toEqual([])
    expect(s.step([[1_000, -20]])).toMatchObject([{ signal: "raised", message: "rate 40/s > max 10/s" }])
  })
})

describe("flatline", () => {
  it("raises when the same value repeats for N readings and clears when it changes", () => {
    const s = sensor([flatline()])
    expect(s.step([[1, 50], [2, 50]])).toEqual([])
    expect(s.step([[3, 50]])).toMatchObject([{ signal: "raised", at: 3, value: 50, message: "value 50 unchanged for 3 readings" }])
    expect(s.step([[4, 50]], { receivedAt: 5 })).toEqual([])
    expect(s.step([[5, 51]], { receivedAt: 6 })).toMatchObject([
      { signal: "cleared", at: 5, value: 51, count: 1, message: "value changed to 51" }
    ])
  })

  it("raises on seconds of reading time too", () => {
    const s = sensor([flatline({ readings: null, seconds: 60 })])
    expect(s.step([[0, 7], [30_000, 7]])).toEqual([])
    expect(s.step([[60_000, 7]])).toMatchObject([{ signal: "raised", message: "value 7 unchanged for 60 s (limit 60 s)" }])
  })
})

describe("suspect_share", () => {
  it("raises above maxShare with enough samples and clears at half of it", () => {
    const s = sensor([share()])
    expect(s.step([[1, 1]], { window: { count: 9, suspect: 9, lastTs: 1 } })).toEqual([])
    expect(s.step([[2, 1, 4], [3, 1]], { window: { count: 10, suspect: 4, lastTs: 3 } })).toMatchObject([
      { signal: "raised", at: 3, value: 0.4, count: 2, message: "suspect share 40% > 30% (4 of 10 readings)" }
    ])
    expect(s.step([[4, 1]], { window: { count: 10, suspect: 2, lastTs: 4 }, receivedAt: 1 })).toEqual([])
    expect(s.step([[5, 1]], { window: { count: 10, suspect: 1, lastTs: 5 }, receivedAt: 2 })).toMatchObject([
      { signal: "cleared", message: "suspect share 10% <= 15%" }
    ])
  })

  it("is not re-evaluated when the batch accepted nothing", () => {
    const s = sensor([share()])
    expect(s.step([[1, 1, -1]], { window: { count: 10, suspect: 10, lastTs: 0 } })).toEqual([])
  })
})

describe("status", () => {
  const degraded: StatusChange = { from: "online", to: "degraded", at: 500, reason: "suspect share 35% > 30%" }
  const recovered: StatusChange = { from: "degraded", to: "online", at: 900, reason: "suspect share 10% <= 15%" }

  it("raises when the sensor enters a listed status and clears when it leaves", () => {
    const s = sensor([statusRule()])
    expect(s.step([[1, 1]], { transitions: [degraded], status: "degraded", receivedAt: 500 })).toMatchObject([
      { signal: "raised", at: 500, value: null, count: 1, message: "status degraded: suspect share 35% > 30%" }
    ])
    expect(s.step([[2, 1]], { status: "degraded", receivedAt: 600 })).toEqual([])
    expect(s.step([[3, 1]], { transitions: [recovered], status: "online", receivedAt: 900 })).toMatchObject([
      { signal: "cleared", at: 900, message: "status online: suspect share 10% <= 15%" }
    ])
  })

  it("emits both when the status enters and leaves inside one batch", () => {
    const s = sensor([statusRule()])
    expect(kinds(s.step([[1, 1]], { transitions: [degraded, recovered], status: "online" }))).toEqual(["raised", "cleared"])
  })

  it("moving between two listed statuses keeps the alert; leaving the listed ones clears it", () => {
    const toFault: StatusChange = { from: "degraded", to: "fault", at: 700, reason: "10 consecutive invalid readings" }
    const both = sensor([statusRule({ statuses: ["degraded", "fault"] })])
    both.step([], { transitions: [degraded], status: "degraded" })
    expect(both.step([], { transitions: [toFault], status: "fault" })).toEqual([])
    const onlyDegraded = sensor([statusRule()])
    onlyDegraded.step([], { transitions: [degraded], status: "degraded" })
    expect(kinds(onlyDegraded.step([], { transitions: [toFault], status: "fault" }))).toEqual(["cleared"])
  })

  it("a rule added while the sensor is already degraded raises on the next batch", () => {
    const s = sensor([statusRule()])
    expect(s.step([[1, 1]], { status: "degraded", receivedAt: 42 })).toMatchObject([
      { signal: "raised", at: 42, message: "status degraded" }
    ])
  })

  it("continues while the status lasts", () => {
    const s = sensor([statusRule()])
    s.step([[1, 1]], { transitions: [degraded], status: "degraded", receivedAt: 500 })
    expect(s.step([[2, 1], [3, 1]], { status: "degraded", receivedAt: 20_000 })).toMatchObject([
      { signal: "continues", at: 20_000, count: 2, value: null, message: "status degraded" }
    ])
  })
})

describe("predicted_breach", () => {
  const w = (lastValue: number, slopePerSecond: number, count = 5): Partial<WindowView> => ({
    count, lastValue, slopePerSecond, lastTs: 1_000
  })

  it("raises when the trend crosses high within the horizon, clears when it no longer does", () => {
    const s = sensor([predicted()])
    expect(s.step([[1_000, 60]], { window: w(60, 0.05) })).toEqual([])
    expect(s.step([[1_000, 60]], { window: w(60, 0.12) })).toMatchObject([
      { signal: "raised", at: 1_000, value: 60, message: "predicted to exceed high 90 within 300 s (slope 0.12/s)" }
    ])
    expect(s.step([[1_000, 60]], { window: w(60, 0.05), receivedAt: 1 })).toMatchObject([
      { signal: "cleared", message: "no longer predicted to cross high 90 within 300 s (slope 0.05/s)" }
    ])
  })

  it("hands over to the threshold rule once the value is beyond the limit", () => {
    const s = sensor([predicted({ high: null, low: 10 })])
    expect(s.step([[1, 30]], { window: w(30, -0.1) })).toMatchObject([
      { signal: "raised", message: "predicted to fall below low 10 within 300 s (slope -0.1/s)" }
    ])
    expect(s.step([[2, 5]], { window: w(5, -0.1), receivedAt: 1 })).toMatchObject([
      { signal: "cleared", value: 5, message: "breached: value 5 < low 10" }
    ])
    expect(s.step([[3, 4]], { window: w(4, -0.1), receivedAt: 2 })).toEqual([])
  })

  it("needs minSamples and a finite slope", () => {
    const s = sensor([predicted()])
    expect(s.step([[1, 60]], { window: w(60, 1, 2) })).toEqual([])
    expect(s.step([[1, 60]], { window: w(60, Number.NaN) })).toEqual([])
  })
})

describe("evaluateBatch", () => {
  it("costs nothing without rules: the same frozen empty array every time", () => {
    const a = sensor([]).step([[1, 1e9]])
    const b = sensor([]).step([[2, 1e9]])
    expect(a).toEqual([])
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
    expect(sensor([threshold()]).step([[1, 1]])).toBe(a)
  })

  it("ignores offline rules (the sweeper decides them)", () => {
    const s = sensor([{ id: "gone", kind: "offline", ...common, afterSeconds: 60 }])
    expect(s.step([[1, 1]], { status: "fault" })).toEqual([])
    expect(s.states).toEqual(createRuleStates(s.rules))
  })

  it("returns signals in rule order", () => {
    const s = sensor([threshold({ id: "a" }), flatline({ id: "b", readings: 2 })])
    expect(s.step([[1, 95], [2, 95]]).map((x) => x.rule)).toEqual(["a", "b"])
  })
})
