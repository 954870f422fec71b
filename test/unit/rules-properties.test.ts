import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { AlertRule } from "../../src/domain/rule-kinds.js"
import { flatline, kinds, type Reading, rate, sensor, threshold } from "../support/rule-fixtures.js"

describe("alert rule properties", () => {
  const valueBatches = (values: fc.Arbitrary<number>) =>
    fc.array(fc.array(fc.tuple(values, fc.constantFrom(0, 0, 0, 4, -1)), { maxLength: 8 }), { maxLength: 25 })
  const smallValues = valueBatches(fc.integer({ min: -8, max: 8 }))

  /** Steps [value, code] batches with increasing ts and receivedAt; per batch its signals and the state after. */
  const replay = (rule: AlertRule, batches: ReadonlyArray<ReadonlyArray<readonly [number, number]>>) => {
    const s = sensor([rule])
    let seen = 0
    return batches.map((b, i) => {
      const readings = b.map(([v, code], j): Reading => [(seen + j + 1) * 1_000, v, code])
      seen += b.length
      const signals = s.step(readings, { receivedAt: i * 3_000, interval: 5_000 })
      return { batch: b, signals, active: s.states[0]?.active, pending: s.states[0]?.pending ?? 0 }
    })
  }

  it("hysteresis: once raised, values inside (high - deadband, high] never clear and never raise again", () => {
    const scenario = fc
      .record({
        high: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        deadband: fc.double({ min: 0.001, max: 100, noNaN: true }),
        over: fc.double({ min: 1e-3, max: 1e3, noNaN: true })
      })
      .chain((p) =>
        valueBatches(fc.double({ min: p.high - p.deadband, max: p.high, minExcluded: true, noNaN: true })).map(
          (batches) => ({ ...p, batches })
        )
      )
    fc.assert(
      fc.property(scenario, ({ high, deadband, over, batches }) => {
        const s = sensor([threshold({ high, deadband })])
        expect(kinds(s.step([[0, high + over]]))).toEqual(["raised"])
        let ts = 1
        batches.forEach((b, i) => {
          expect(s.step(b.map(([v, code]): Reading => [ts++, v, code]), { receivedAt: i * 60_000 })).toEqual([])
        })
        expect(s.states[0]?.active).toBe(true)
      }),
      { numRuns: 300 }
    )
  })

  const ruleArb: fc.Arbitrary<AlertRule> = fc.oneof(
    fc.record({ deadband: fc.constantFrom(0, 1, 3), forSeconds: fc.constantFrom(0, 0, 2, 5) }).map((p) =>
      threshold({ high: 5, low: -5, ...p })
    ),
    fc.record({ maxPerSecond: fc.constantFrom(1, 3), deadband: fc.constantFrom(0, 0.5) }).map((p) => rate(p)),
    fc.record({ readings: fc.constantFrom(2, 3, null), seconds: fc.constantFrom(3, null) }).map((p) =>
      flatline(p.readings === null && p.seconds === null ? { readings: 2 } : p)
    )
  )

  it("dedupe: per rule, raised and cleared strictly alternate starting with raised, at most two per batch", () => {
    fc.assert(
      fc.property(ruleArb, smallValues, (rule, batches) => {
        let open = false
        for (const { signals, active } of replay(rule, batches)) {
          expect(signals.filter((x) => x.signal !== "continues").length).toBeLessThanOrEqual(2)
          for (const x of signals) {
            if (x.signal === "continues") {
              expect(open).toBe(true)
              continue
            }
            expect(x.signal).toBe(open ? "cleared" : "raised")
            if (x.signal === "raised") expect(x.count).toBeGreaterThanOrEqual(1)
            open = x.signal === "raised"
          }
          expect(active).toBe(open)
        }
      }),
      { numRuns: 500 }
    )
  })

  it("without deadband and delay, a threshold is active exactly when the last accepted value breached", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<[number | null, number | null]>([5, null], [null, -5], [5, -5]),
        smallValues,
        ([high, low], batches) => {
          let last: number | null = null
          for (const { batch, active } of replay(threshold({ high, low }), batches)) {
            for (const [v, code] of batch) if (code >= 0) last = v
            expect(active).toBe(last !== null && ((high !== null && last > high) || (low !== null && last < low)))
          }
        }
      ),
      { numRuns: 500 }
    )
  })

  it("nothing is lost: a threshold's signal counts plus what is pending add up to its breaching readings", () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 3), smallValues, (deadband, batches) => {
        const steps = replay(threshold({ high: 5, low: -5, deadband }), batches)
        const counted = steps.flatMap((x) => x.signals).reduce((n, x) => n + x.count, 0)
        const breaching = batches.flat().filter(([v, code]) => code >= 0 && (v > 5 || v < -5)).length
        expect(counted + (steps.at(-1)?.pending ?? 0)).toBe(breaching)
      }),
      { numRuns: 500 }
    )
  })
})
