import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { clampBucket, createBucket, retryAfterMs, takeToken } from "../../src/core/throttle.js"

describe("token bucket", () => {
  it("starts full and admits exactly the burst at one instant", () => {
    const b = createBucket(3, 1000)
    expect([1, 2, 3, 4].map(() => takeToken(b, 10, 3, 1000))).toEqual([true, true, true, false])
  })

  it("refills rate * elapsed / 1000, capped at burst", () => {
    const b = createBucket(2, 0)
    takeToken(b, 10, 2, 0)
    takeToken(b, 10, 2, 0)
    expect(takeToken(b, 10, 2, 99)).toBe(false)
    expect(takeToken(b, 10, 2, 100)).toBe(true)
    expect(takeToken(b, 10, 2, 100)).toBe(false)
    // A long pause refills only up to the burst.
    const admitted = [0, 1, 2].map(() => takeToken(b, 10, 2, 1_000_000)).filter(Boolean).length
    expect(admitted).toBe(2)
  })

  it("time going backwards adds no tokens, and the interval is not paid twice", () => {
    const b = createBucket(1, 1000)
    expect(takeToken(b, 1, 1, 1000)).toBe(true)
    expect(takeToken(b, 1, 1, 0)).toBe(false)
    expect(takeToken(b, 1, 1, 500)).toBe(false)
    expect(b.last).toBe(1000)
    expect(takeToken(b, 1, 1, 1999)).toBe(false)
    expect(takeToken(b, 1, 1, 2000)).toBe(true)
  })

  it("rate 0 never refills and retryAfterMs is Infinity", () => {
    const b = createBucket(1, 0)
    expect(takeToken(b, 0, 1, 0)).toBe(true)
    expect(takeToken(b, 0, 1, 1e12)).toBe(false)
    expect(retryAfterMs(b, 0)).toBe(Number.POSITIVE_INFINITY)
  })

  it("retryAfterMs is 0 with a token, else whole ms until the next one", () => {
    const b = createBucket(1, 0)
    expect(retryAfterMs(b, 4)).toBe(0)
    takeToken(b, 4, 1, 0)
    expect(retryAfterMs(b, 4)).toBe(250)
    expect(retryAfterMs(b, 3)).toBe(334)
  })

  it("a smaller burst clamps the tokens", () => {
    const b = createBucket(100, 0)
    clampBucket(b, 5)
    expect(b.tokens).toBe(5)
    expect(Array.from({ length: 6 }, () => takeToken(b, 1, 5, 0)).filter(Boolean).length).toBe(5)
  })

  it("a burst lowered without clampBucket is still enforced on the next take", () => {
    const b = createBucket(100, 0)
    expect(Array.from({ length: 4 }, () => takeToken(b, 1, 3, 0)).filter(Boolean).length).toBe(3)
  })

  it("property: admitted <= floor(burst + rate * (tn - t0) / 1000) for non-decreasing times", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        fc.integer({ min: 0, max: 2e12 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 400, size: "max" }),
        (burst, rate, t0, gaps) => {
          const b = createBucket(burst, t0)
          let t = t0
          let admitted = 0
          for (const gap of gaps) {
            t += gap
            if (takeToken(b, rate, burst, t)) admitted++
          }
          // The tiny slack absorbs float rounding of an exactly integral bound.
          expect(admitted).toBeLessThanOrEqual(Math.floor(burst + (rate * (t - t0)) / 1000 + 1e-9))
        }
      ),
      { numRuns: 500 }
    )
  })

  it("property: with rate > 0, waiting retryAfterMs after a refusal gets a token", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 1e-3, max: 1e5, noNaN: true }),
        fc.integer({ min: 0, max: 2e12 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200, size: "max" }),
        (burst, rate, t0, gaps) => {
          const b = createBucket(burst, t0)
          let t = t0
          const failures: Array<{ t: number; wait: number }> = []
          for (const gap of gaps) {
            t += gap
            if (!takeToken(b, rate, burst, t)) {
              const wait = retryAfterMs(b, rate)
              t += wait
              if (!(wait > 0 && Number.isFinite(wait) && takeToken(b, rate, burst, t))) failures.push({ t, wait })
            }
          }
          expect(failures).toEqual([])
        }
      ),
      { numRuns: 500 }
    )
  })
})
