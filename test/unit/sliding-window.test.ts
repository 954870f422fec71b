import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  createWindow,
  type SlidingWindow,
  windowContainsTs,
  windowCount,
  windowHasLast,
  windowLastTs,
  windowLastValue,
  windowMax,
  windowMean,
  windowMin,
  windowPush,
  windowRatePerSecond,
  windowSlope,
  windowStdDev,
  windowSuspectCount,
  windowVariance
} from "../../src/core/sliding-window.js"
import { windowFromSnapshot, windowToSnapshot } from "../../src/core/window-snapshot.js"

interface Entry {
  readonly ts: number
  readonly value: number
  readonly suspect: boolean
}

/** The obvious implementation: an array, shifted and rescanned on every question. */
const naivePush = (entries: Entry[], capacity: number, windowMs: number, e: Entry): void => {
  if (entries.length === capacity) entries.shift()
  if (windowMs > 0) while (entries.length > 0 && entries[0]!.ts < e.ts - windowMs) entries.shift()
  entries.push(e)
}
const naiveMean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length
const naiveVariance = (xs: ReadonlyArray<number>): number => {
  if (xs.length < 2) return 0
  const m = naiveMean(xs)
  return xs.reduce((a, x) => a + (x - m) * (x - m), 0) / xs.length
}
const naiveSlope = (es: ReadonlyArray<Entry>): number => {
  if (es.length < 2) return 0
  const mt = naiveMean(es.map((e) => e.ts))
  const mv = naiveMean(es.map((e) => e.value))
  let c = 0
  let q = 0
  for (const e of es) {
    c += (e.ts - mt) * (e.value - mv)
    q += (e.ts - mt) * (e.ts - mt)
  }
  return q === 0 ? 0 : (c / q) * 1000
}

/** 1e-6 relative, floored at 1e-6 absolute so values near zero compare sensibly. */
const close = (actual: number, expected: number): boolean =>
  Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected))

const pushAll = (w: SlidingWindow, windowMs: number, items: ReadonlyArray<readonly [number, number]>) => {
  for (const [ts, value] of items) windowPush(w, ts, value, windowMs, false)
}

const step = fc.record({
  dt: fc.integer({ min: -20, max: 60 }),
  value: fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: -3, max: 3 })),
  suspect: fc.boolean()
})
const scenario = fc.record({
  capacity: fc.integer({ min: 1, max: 40 }),
  windowMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })),
  steps: fc.array(step, { maxLength: 300, size: "max" })
})

describe("sliding window", () => {
  it("starts empty", () => {
    const w = createWindow(5)
    expect(windowCount(w)).toBe(0)
    expect(windowMean(w)).toBeNaN()
    expect(windowMin(w)).toBeNaN()
    expect(windowMax(w)).toBeNaN()
    expect(windowVariance(w)).toBe(0)
    expect(windowStdDev(w)).toBe(0)
    expect(windowSlope(w)).toBe(0)
    expect(windowRatePerSecond(w)).toBe(0)
    expect(windowHasLast(w)).toBe(false)
    expect(windowLastValue(w)).toBeNaN()
    expect(windowSuspectCount(w)).toBe(0)
  })

  it("computes mean, population variance, min and max", () => {
    const w = createWindow(10)
    pushAll(w, 0, [[1, 2], [2, 4], [3, 4], [4, 4], [5, 5], [6, 5], [7, 7], [8, 9]])
    expect(windowCount(w)).toBe(8)
    expect(windowMean(w)).toBe(5)
    expect(windowVariance(w)).toBeCloseTo(4, 12)
    expect(windowStdDev(w)).toBeCloseTo(2, 12)
    expect(windowMin(w)).toBe(2)
    expect(windowMax(w)).toBe(9)
  })

  it("variance is 0 for a single reading and exactly 0 for identical values", () => {
    const w = createWindow(4)
    windowPush(w, 1, 0.1, 0, false)
    expect(windowVariance(w)).toBe(0)
    pushAll(w, 0, [[2, 0.1], [3, 0.1]])
    expect(windowVariance(w)).toBe(0)
    expect(windowMean(w)).toBe(0.1)
  })

  it("evicts the oldest reading beyond capacity", () => {
    const w = createWindow(3)
    pushAll(w, 0, [[1, 10], [2, 1], [3, 2], [4, 3]])
    expect(windowCount(w)).toBe(3)
    expect(windowMax(w)).toBe(3)
    expect(windowMin(w)).toBe(1)
    expect(windowContainsTs(w, 1)).toBe(false)
    expect(windowContainsTs(w, 4)).toBe(true)
    expect(windowMean(w)).toBeCloseTo(2, 12)
  })

  it("evicts readings older than ts - windowMs, keeping the boundary itself", () => {
    const w = createWindow(100)
    pushAll(w, 1000, [[0, 1], [500, 2], [1000, 3]])
    expect(windowCount(w)).toBe(3)
    windowPush(w, 1500, 4, 1000, false)
    expect(windowCount(w)).toBe(3)
    expect(windowContainsTs(w, 0)).toBe(false)
    expect(windowContainsTs(w, 500)).toBe(true)
    windowPush(w, 5000, 5, 1000, false)
    expect(windowCount(w)).toBe(1)
    expect(windowMean(w)).toBe(5)
  })

  it("ignores non-finite input", () => {
    const w = createWindow(3)
    expect(windowPush(w, 1, Number.NaN, 0, false)).toBe(false)
    expect(windowPush(w, Number.POSITIVE_INFINITY, 1, 0, false)).toBe(false)
    expect(windowCount(w)).toBe(0)
  })

  it("counts suspect entries and forgets them on eviction", () => {
    const w = createWindow(2)
    windowPush(w, 1, 1, 0, true)
    windowPush(w, 2, 1, 0, true)
    expect(windowSuspectCount(w)).toBe(2)
    windowPush(w, 3, 1, 0, false)
    expect(windowSuspectCount(w)).toBe(1)
  })

  it("tracks duplicate timestamps by count", () => {
    const w = createWindow(3)
    pushAll(w, 0, [[7, 1], [7, 2], [8, 3]])
    windowPush(w, 9, 4, 0, false)
    expect(windowContainsTs(w, 7)).toBe(true)
    windowPush(w, 10, 5, 0, false)
    expect(windowContainsTs(w, 7)).toBe(false)
  })

  it("keeps a ts index only while an out-of-order entry is inside", () => {
    const w = createWindow(3)
    pushAll(w, 0, [[10, 1], [20, 2], [20, 3]])
    expect(w.tsCount).toBeNull()
    expect([5, 10, 15, 20, 25].map((t) => windowContainsTs(w, t))).toEqual([false, true, false, true, false])
    windowPush(w, 15, 4, 0, false) // below 20: the ring is no longer sorted
    expect(w.tsCount).not.toBeNull()
    expect([10, 15, 20, 25].map((t) => windowContainsTs(w, t))).toEqual([false, true, true, false])
    windowPush(w, 30, 5, 0, false)
    expect(w.tsCount).not.toBeNull()
    windowPush(w, 40, 6, 0, false) // the last 20 leaves: 15 is oldest, its descent forgotten
    expect(w.tsCount).toBeNull()
    expect([15, 20, 30, 40].map((t) => windowContainsTs(w, t))).toEqual([true, false, true, true])
  })

  it("rate of change uses the last two pushes, even evicted ones", () => {
    const w = createWindow(1)
    windowPush(w, 1000, 10, 0, false)
    expect(windowRatePerSecond(w)).toBe(0)
    windowPush(w, 3000, 14, 0, false)
    expect(windowRatePerSecond(w)).toBe(2)
    expect(windowLastTs(w)).toBe(3000)
    expect(windowLastValue(w)).toBe(14)
    windowPush(w, 3000, 20, 0, false)
    expect(windowRatePerSecond(w)).toBe(0)
  })

  it("slope of a line is its gradient per second", () => {
    const w = createWindow(50)
    for (let i = 0; i < 30; i++) windowPush(w, 1_700_000_000_000 + i * 250, 3 + 0.5 * i, 0, false)
    expect(windowSlope(w)).toBeCloseTo(2, 9)
    const flat = createWindow(5)
    pushAll(flat, 0, [[1, 4], [2, 4], [3, 4]])
    expect(windowSlope(flat)).toBe(0)
  })

  it("recovers exact statistics after a dominant outlier leaves", () => {
    const w = createWindow(4)
    pushAll(w, 0, [[1, 1e6], [2, 1e-3], [3, 2e-3], [4, 3e-3], [5, 4e-3]])
    expect(windowVariance(w)).toBeCloseTo(naiveVariance([1e-3, 2e-3, 3e-3, 4e-3]), 15)
    expect(windowMean(w)).toBeCloseTo(2.5e-3, 15)
  })

  it("reports NaN moments while a value beyond 1e150 is inside, then recovers", () => {
    const w = createWindow(3)
    pushAll(w, 0, [[1, 1e200], [2, 1], [3, 2]])
    expect(windowMean(w)).toBeNaN()
    expect(windowMax(w)).toBe(1e200)
    windowPush(w, 4, 3, 0, false)
    expect(windowMean(w)).toBe(2)
    expect(windowVariance(w)).toBeCloseTo(2 / 3, 12)
  })

  it("snapshot is oldest first and JSON-safe; restore trims to capacity", () => {
    const w = createWindow(5)
    windowPush(w, 1, 10, 0, false)
    windowPush(w, 2, 20, 0, true)
    windowPush(w, 3, 30, 0, false)
    const snap = JSON.parse(JSON.stringify(windowToSnapshot(w)))
    expect(snap.ts).toEqual([1, 2, 3])
    expect(snap.values).toEqual([10, 20, 30])
    expect(snap.suspect).toEqual([0, 1, 0])
    const small = windowFromSnapshot(2, snap, 0)
    expect(windowCount(small)).toBe(2)
    expect(windowMean(small)).toBe(25)
    expect(windowSuspectCount(small)).toBe(1)
    expect(windowContainsTs(small, 1)).toBe(false)
    expect(windowRatePerSecond(small)).toBe(10_000)
  })

  it("restore applies a shorter windowMs against the newest entry", () => {
    const w = createWindow(5)
    pushAll(w, 0, [[0, 1], [100, 2], [200, 3]])
    const r = windowFromSnapshot(5, windowToSnapshot(w), 150)
    expect(windowCount(r)).toBe(2)
    expect(windowMin(r)).toBe(2)
  })

  it("property: matches a naive model on random sequences", () => {
    fc.assert(
      fc.property(scenario, ({ capacity, windowMs, steps }) => {
        const w = createWindow(capacity)
        const model: Entry[] = []
        const seen = new Set<number>()
        let ts = 1_700_000_000_000
        for (const s of steps) {
          ts += s.dt
          seen.add(ts)
          windowPush(w, ts, s.value, windowMs, s.suspect)
          naivePush(model, capacity, windowMs, { ts, value: s.value, suspect: s.suspect })
          const values = model.map((e) => e.value)
          const probes = [ts - s.dt, ts - 1, ts, ts + 1, model[0]!.ts - 1]
          const expected = {
            count: model.length,
            suspect: model.filter((e) => e.suspect).length,
            min: Math.min(...values),
            max: Math.max(...values),
            mean: naiveMean(values),
            variance: naiveVariance(values),
            contains: probes.map((t) => model.some((e) => e.ts === t))
          }
          const actual = {
            count: windowCount(w),
            suspect: windowSuspectCount(w),
            min: windowMin(w),
            max: windowMax(w),
            mean: windowMean(w),
            variance: windowVariance(w),
            contains: probes.map((t) => windowContainsTs(w, t))
          }
          const ok =
            actual.count === expected.count &&
            actual.suspect === expected.suspect &&
            // === rather than Object.is: the window stores -0 as 0.
            actual.min === expected.min &&
            actual.max === expected.max &&
            close(actual.mean, expected.mean) &&
            close(actual.variance, expected.variance) &&
            actual.contains.every((c, i) => c === expected.contains[i])
          // Asserting only on a mismatch keeps 100k steps fast; the diff shows what differed.
          if (!ok) expect(actual).toEqual(expected)
          for (const t of [ts - 1, ts, ts + 1]) seen.add(t)
        }
        const wrong = [...seen].filter((t) => windowContainsTs(w, t) !== model.some((e) => e.ts === t))
        expect(wrong).toEqual([])
      }),
      { numRuns: 300 }
    )
  })

  it("property: slope matches least squares over increasing timestamps", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), {
          minLength: 2,
          maxLength: 200,
          size: "max"
        }),
        (capacity, steps) => {
          const w = createWindow(capacity)
          const model: Entry[] = []
          let ts = 1_700_000_000_000
          for (const [dt, value] of steps) {
            ts += dt
            windowPush(w, ts, value, 0, false)
            naivePush(model, capacity, 0, { ts, value, suspect: false })
          }
          const scale = Math.max(1, ...model.map((e) => Math.abs(e.value)))
          expect(Math.abs(windowSlope(w) - naiveSlope(model))).toBeLessThanOrEqual(1e-6 * scale)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("property: snapshot, JSON round trip and restore continue bit-identically", () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ capacity, windowMs, steps }, cut) => {
        const original = createWindow(capacity)
        let restored = createWindow(capacity)
        const at = steps.length === 0 ? 0 : cut % (steps.length + 1)
        let ts = 1_700_000_000_000
        steps.forEach((s, i) => {
          if (i === at) restored = windowFromSnapshot(capacity, JSON.parse(JSON.stringify(windowToSnapshot(original))), windowMs)
          ts += s.dt
          windowPush(original, ts, s.value, windowMs, s.suspect)
          if (i >= at) windowPush(restored, ts, s.value, windowMs, s.suspect)
        })
        if (at >= steps.length) restored = windowFromSnapshot(capacity, JSON.parse(JSON.stringify(windowToSnapshot(original))), windowMs)
        for (const read of [windowCount, windowSuspectCount, windowMin, windowMax, windowMean, windowVariance, windowSlope, windowRatePerSecond]) {
          expect(read(restored)).toBe(read(original))
        }
        expect(windowToSnapshot(restored)).toEqual(windowToSnapshot(original))
      }),
      { numRuns: 300 }
    )
  })
})
