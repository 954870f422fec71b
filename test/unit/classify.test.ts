import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { classify, classifyReading, decisionOf, RejectCode, rejectReasonOf, suspectReasons } from "../../src/core/classify.js"
import { defaultCoreConfig } from "../../src/domain/sensor-settings.js"
import { createWindow, type SlidingWindow, windowPush } from "../../src/core/sliding-window.js"
import type { CoreConfig } from "../../src/domain/sensor-settings.js"
import { SuspectFlag } from "../../src/domain/reasons.js"

const cfg = (patch: Partial<CoreConfig> = {}): CoreConfig => ({ ...defaultCoreConfig, ...patch })

/** A window holding `values` at ts 1000, 2000, ... */
const windowOf = (values: ReadonlyArray<number>, size = 100): SlidingWindow => {
  const w = createWindow(size)
  values.forEach((v, i) => {
    windowPush(w, (i + 1) * 1000, v, 0, false)
  })
  return w
}

const empty = () => createWindow(10)

describe("classify: rejections", () => {
  it("NaN and infinities are invalid", () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(classifyReading(empty(), null, cfg(), 1, v, 0)).toEqual({ quality: 0, reject: "invalid" })
    }
  })

  it("a non-finite ts is invalid", () => {
    expect(classify(empty(), null, cfg(), Number.NaN, 1, 0)).toBe(RejectCode.invalid)
  })

  it("hard limits are inclusive", () => {
    const c = cfg({ hardMin: -10, hardMax: 10 })
    expect(classify(empty(), null, c, 1, -10, 0)).toBe(0)
    expect(classify(empty(), null, c, 1, 10, 0)).toBe(0)
    expect(classify(empty(), null, c, 1, 10.000001, 0)).toBe(RejectCode.invalid)
    expect(classify(empty(), null, c, 1, -10.000001, 0)).toBe(RejectCode.invalid)
  })

  it("a resend of a taken reading is a duplicate before anything else; then limits, then order", () => {
    const w = windowOf([1])
    expect(classify(w, 1000, cfg({ hardMax: 5 }), 1000, 6, 0)).toBe(RejectCode.duplicate)
    expect(classify(w, 5000, cfg({ hardMax: 5 }), 1000, 6, 0)).toBe(RejectCode.duplicate)
    expect(classify(w, 5000, cfg({ hardMax: 5 }), 2000, 6, 0)).toBe(RejectCode.invalid)
    expect(classify(w, 1000, cfg(), Number.NaN, 1, 0)).toBe(RejectCode.invalid)
  })

  it("out of order beyond the allowed skew, accepted within it", () => {
    const w = windowOf([1, 2])
    expect(classify(w, 2000, cfg(), 1999, 3, 0)).toBe(RejectCode.out_of_order)
    const skew = cfg({ allowedSkewMs: 500 })
    expect(classify(w, 2000, skew, 1500, 3, 0)).toBe(0)
    expect(classify(w, 2000, skew, 1499, 3, 0)).toBe(RejectCode.out_of_order)
  })

  it("duplicates: the last accepted ts or any ts still in the window", () => {
    const w = windowOf([1, 2])
    expect(classify(w, 2000, cfg(), 2000, 3, 0)).toBe(RejectCode.duplicate)
    expect(classify(w, 2000, cfg({ allowedSkewMs: 5000 }), 1000, 3, 0)).toBe(RejectCode.duplicate)
    expect(classify(w, 2000, cfg({ allowedSkewMs: 5000 }), 1001, 3, 0)).toBe(0)
  })

  it("duplicate wins over out of order: a resend after a failover is told it is stored", () => {
    expect(classify(windowOf([1, 2]), 2000, cfg(), 1000, 3, 0)).toBe(RejectCode.duplicate)
    expect(classify(windowOf([1, 2]), 2000, cfg(), 1500, 3, 0)).toBe(RejectCode.out_of_order)
  })
})

describe("classify: suspect flags", () => {
  it("soft limits are inclusive; outside is accepted as out_of_range", () => {
    const c = cfg({ softMin: 0, softMax: 100 })
    expect(classify(empty(), null, c, 1, 0, 0)).toBe(0)
    expect(classify(empty(), null, c, 1, 100, 0)).toBe(0)
    expect(classifyReading(empty(), null, c, 1, 100.5, 0)).toEqual({ quality: SuspectFlag.out_of_range, reject: null })
    expect(classify(empty(), null, c, 1, -0.5, 0)).toBe(SuspectFlag.out_of_range)
  })

  it("spike: beyond sigma * stddev once there are enough samples", () => {
    const values = [9, 11, 9, 11, 9, 11, 9, 11, 9, 11] // mean 10, stddev 1
    const c = cfg({ spikeSigma: 3, spikeMinSamples: 10 })
    expect(classify(windowOf(values), 10_000, c, 20_000, 13, 0)).toBe(0)
    expect(classify(windowOf(values), 10_000, c, 20_000, 7, 0)).toBe(0)
    expect(classify(windowOf(values), 10_000, c, 20_000, 13.001, 0)).toBe(SuspectFlag.spike)
    expect(classify(windowOf(values), 10_000, c, 20_000, 6.999, 0)).toBe(SuspectFlag.spike)
    expect(classify(windowOf(values.slice(1)), 10_000, c, 20_000, 100, 0)).toBe(0)
    expect(classify(windowOf(values), 10_000, cfg({ spikeSigma: 0 }), 20_000, 1e9, 0)).toBe(0)
  })

  it("spike: a flat window flags any different value, not the same one", () => {
    const flat = Array.from({ length: 10 }, () => 5)
    const c = cfg({ spikeSigma: 6, spikeMinSamples: 10 })
    expect(classify(windowOf(flat), 10_000, c, 20_000, 5.0000001, 0)).toBe(SuspectFlag.spike)
    expect(classify(windowOf(flat), 10_000, c, 20_000, 5, 0)).toBe(0)
  })

  it("rate of change: against the previous accepted reading, limit inclusive", () => {
    const c = cfg({ maxRatePerSecond: 2 })
    const w = windowOf([10]) // at ts 1000
    expect(classify(w, 1000, c, 3000, 14, 0)).toBe(0)
    expect(classify(w, 1000, c, 3000, 14.01, 0)).toBe(SuspectFlag.rate_of_change)
    expect(classify(w, 1000, c, 3000, 5.99, 0)).toBe(SuspectFlag.rate_of_change)
    expect(classify(empty(), null, c, 3000, 1e9, 0)).toBe(0)
    expect(classify(w, 1000, cfg(), 3000, 1e9, 0)).toBe(0)
  })

  it("rate of change needs dt > 0 (a late reading within skew is not judged)", () => {
    const c = cfg({ maxRatePerSecond: 1, allowedSkewMs: 10_000 })
    expect(classify(windowOf([10]), 1000, c, 500, 1e6, 0)).toBe(0)
  })

  it("stuck: the run including this reading reaches stuckCount", () => {
    const c = cfg({ stuckCount: 3 })
    const w = windowOf([4, 4]) // stuckRun after two 4s is 2
    expect(classify(w, 2000, c, 3000, 4, 2)).toBe(SuspectFlag.stuck)
    expect(classify(w, 2000, c, 3000, 4, 1)).toBe(0)
    expect(classify(w, 2000, c, 3000, 5, 2)).toBe(0)
    expect(classify(w, 2000, cfg({ stuckCount: 0 }), 3000, 4, 1000)).toBe(0)
  })

  it("flags combine", () => {
    const c = cfg({ softMax: 10, maxRatePerSecond: 1, stuckCount: 2 })
    expect(classify(windowOf([20]), 1000, c, 2000, 20, 1)).toBe(SuspectFlag.out_of_range | SuspectFlag.stuck)
    expect(classify(windowOf([0]), 1000, c, 2000, 20, 1)).toBe(SuspectFlag.out_of_range | SuspectFlag.rate_of_change)
  })
})

describe("codes", () => {
  it("reject codes are negative and decode to their reason", () => {
    for (const reason of ["invalid", "out_of_order", "duplicate", "throttled"] as const) {
      expect(RejectCode[reason]).toBeLessThan(0)
      expect(rejectReasonOf(RejectCode[reason])).toBe(reason)
      expect(decisionOf(RejectCode[reason])).toEqual({ quality: 0, reject: reason })
    }
    expect(rejectReasonOf(0)).toBeNull()
    expect(rejectReasonOf(SuspectFlag.spike)).toBeNull()
    expect(rejectReasonOf(-99)).toBeNull()
  })

  it("suspectReasons decodes in a stable order", () => {
    expect(suspectReasons(0)).toEqual([])
    expect(suspectReasons(15)).toEqual(["spike", "rate_of_change", "stuck", "out_of_range"])
    expect(suspectReasons(SuspectFlag.out_of_range | SuspectFlag.spike)).toEqual(["spike", "out_of_range"])
    expect(suspectReasons(RejectCode.invalid)).toEqual([])
  })

  it("property: matches a reference written straight from the rules, and codes round-trip", () => {
    const c = cfg({
      softMin: -50,
      softMax: 50,
      hardMin: -150,
      hardMax: 150,
      maxRatePerSecond: 20,
      stuckCount: 2,
      spikeSigma: 2.5,
      spikeMinSamples: 3,
      allowedSkewMs: 1500
    })
    const reference = (values: ReadonlyArray<number>, ts: number, value: number, stuckRun: number): number => {
      const last = values.length * 1000
      if (!Number.isFinite(value)) return RejectCode.invalid
      if (values.length > 0 && (ts === last || (ts > 0 && ts % 1000 === 0 && ts / 1000 <= values.length))) {
        return RejectCode.duplicate
      }
      if (value < -150 || value > 150) return RejectCode.invalid
      if (values.length > 0 && ts < last - 1500) return RejectCode.out_of_order
      const mean = values.reduce((a, b) => a + b, 0) / values.length
      const sd = Math.sqrt(values.reduce((a, x) => a + (x - mean) ** 2, 0) / values.length)
      const prev = values[values.length - 1]
      let q = 0
      // Exactly on the spike boundary the two computations may round apart: not a meaningful case.
      fc.pre(values.length < 3 || sd === 0 || Math.abs(Math.abs(value - mean) - 2.5 * sd) > 1e-9 * Math.max(1, sd))
      if (values.length >= 3 && (sd === 0 ? value !== mean : Math.abs(value - mean) > 2.5 * sd)) q |= SuspectFlag.spike
      if (prev !== undefined && ts > last && (Math.abs(value - prev) * 1000) / (ts - last) > 20) q |= SuspectFlag.rate_of_change
      if ((prev === value ? stuckRun : 0) + 1 >= 2) q |= SuspectFlag.stuck
      if (value < -50 || value > 50) q |= SuspectFlag.out_of_range
      return q
    }
    fc.assert(
      fc.property(
        // Micro-unit values, like real readings: no subnormal spreads whose squares underflow.
        fc.array(fc.integer({ min: -100_000_000, max: 100_000_000 }).map((n) => n / 1e6), { maxLength: 30 }),
        fc.oneof(fc.double(), fc.double({ min: -200, max: 200 }), fc.integer({ min: -200, max: 200 })),
        fc.integer({ min: 0, max: 40_000 }),
        fc.integer({ min: 1, max: 3 }),
        (values, value, ts, stuckRun) => {
          const w = windowOf(values)
          const last = values.length === 0 ? null : values.length * 1000
          const code = classify(w, last, c, ts, value, stuckRun)
          expect(code).toBe(reference(values, ts, value, stuckRun))
          const d = classifyReading(w, last, c, ts, value, stuckRun)
          expect(d).toEqual(decisionOf(code))
          expect(d.reject === null).toBe(code >= 0)
          if (code >= 0) expect(suspectReasons(code).reduce((q, r) => q | SuspectFlag[r], 0)).toBe(code)
        }
      ),
      { numRuns: 1000 }
    )
  })
})
