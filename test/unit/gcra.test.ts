/** GCRA as a pure function, and the node-local limiter built on it. */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { gcra, type Limit } from "../../src/http/limits/gcra.js"
import { type Check, LocalLimits } from "../../src/http/limits/rate-limiter.js"

const run = (limit: Limit, times: ReadonlyArray<number>) => {
  let tat: number | undefined
  return times.map((now) => {
    const d = gcra(tat, now, limit)
    if (d.allowed) tat = d.tat
    return d
  })
}

describe("gcra", () => {
  it("allows a full burst at once, then one request per interval", () => {
    const limit = { ratePerSec: 10, burst: 3 }
    const burst = run(limit, [0, 0, 0, 0])
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true, false])
    expect(burst.map((d) => d.remaining)).toEqual([2, 1, 0, 0])
    expect(burst[3]!.retryAfterMs).toBeCloseTo(100)
    expect(run(limit, [0, 0, 0, 100, 100]).map((d) => d.allowed)).toEqual([true, true, true, true, false])
  })

  it("never lets more than burst + rate x elapsed requests through, and lets a steady client at the rate through", () => {
    fc.assert(
      fc.property(
        fc.record({ ratePerSec: fc.integer({ min: 1, max: 1_000 }), burst: fc.integer({ min: 1, max: 100 }) }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (limit, gaps) => {
          let now = 0
          const times = gaps.map((g) => (now += g))
          const allowed = run(limit, times).filter((d) => d.allowed).length
          const elapsed = times.at(-1)! - times[0]!
          expect(allowed).toBeLessThanOrEqual(limit.burst + Math.floor((elapsed * limit.ratePerSec) / 1000) + 1)
        }
      )
    )
    const steady = run({ ratePerSec: 5, burst: 1 }, Array.from({ length: 50 }, (_, i) => i * 200))
    expect(steady.every((d) => d.allowed)).toBe(true)
  })
})

describe("LocalLimits", () => {
  it("refuses when any limit is spent and then advances none of them", () => {
    const ip: Check = { scope: "ip", key: "ip:a", limit: { ratePerSec: 1, burst: 3 }, setting: "RATE_LIMIT_IP_PER_SECOND" }
    const key: Check = { scope: "key", key: "key:k", limit: { ratePerSec: 1, burst: 1 }, setting: "RATE_LIMIT_KEY_PER_SECOND" }
    const l = new LocalLimits()
    expect(l.check([ip, key], 0).allowed).toBe(true)
    const refused = l.check([ip, key], 0)
    expect(refused).toMatchObject({ allowed: false, check: { scope: "key" } })
    // The ip budget was not spent by the refused request: two more fit with another key.
    expect(l.check([ip], 0).allowed).toBe(true)
    expect(l.check([ip], 0).allowed).toBe(true)
    expect(l.check([ip], 0).allowed).toBe(false)
    expect(l.check([key], 1_000).allowed).toBe(true)
  })
})
