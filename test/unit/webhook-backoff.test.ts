import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { backoffMs, classifyStatus, retryAfterMs, retryDelayMs } from "../../src/alerts/webhooks/backoff.js"

describe("webhook backoff", () => {
  it("is always within [0, min(max, base * 2^(attempt-1))]", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, r) => {
          const d = backoffMs(attempt, base, max, () => r)
          expect(d).toBeGreaterThanOrEqual(0)
          expect(d).toBeLessThanOrEqual(Math.min(max, base * 2 ** (attempt - 1)))
          expect(Number.isInteger(d)).toBe(true)
        }
      )
    )
  })

  it("grows exponentially until the cap (random at its top)", () => {
    const top = () => 0.999999
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, 100, 1000, top))).toEqual([99, 199, 399, 799, 999, 999])
    expect(backoffMs(1, 100, 1000, () => 0)).toBe(0)
  })

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs(null, 0)).toBeNull()
    expect(retryAfterMs("3", 0)).toBe(3000)
    expect(retryAfterMs(" 0 ", 0)).toBe(0)
    expect(retryAfterMs("soon", 0)).toBeNull()
    const now = Date.UTC(2026, 0, 1, 0, 0, 0)
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000)
    expect(retryAfterMs("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0)
  })

  it("honours a longer Retry-After on 429 and 503 only, capped at max", () => {
    const settings = { baseMs: 10, maxMs: 5000 }
    const zero = () => 0
    expect(retryDelayMs(1, settings, zero, 429, 2000)).toBe(2000)
    expect(retryDelayMs(1, settings, zero, 503, 2000)).toBe(2000)
    expect(retryDelayMs(1, settings, zero, 500, 2000)).toBe(0)
    expect(retryDelayMs(1, settings, zero, 429, 60_000)).toBe(5000)
    expect(retryDelayMs(1, settings, zero, null, null)).toBe(0)
  })

  it("classifies answers: 2xx delivered, 408/429/5xx retried, the rest permanent", () => {
    expect([200, 202, 204, 299].map(classifyStatus)).toEqual(["delivered", "delivered", "delivered", "delivered"])
    expect([408, 429, 500, 502, 503, 504].map(classifyStatus)).toEqual(Array(6).fill("retryable"))
    expect([301, 302, 400, 401, 403, 404, 410, 422].map(classifyStatus)).toEqual(Array(8).fill("permanent"))
  })
})
