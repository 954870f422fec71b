/** Synced rate limits (src/http/limits/synced-limits.ts): decided locally from a primed copy, settled in batches. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { gcra } from "../../src/http/limits/gcra.js"
import { SyncedLimits } from "../../src/http/limits/synced-limits.js"

const limit = { ratePerSec: 10, burst: 5 }
const check = (key = "key:a") => [{ key, limit }]

describe("synced limits", () => {
  it("asks for the exact decision until a key is primed, and again once its copy is stale", () => {
    const s = new SyncedLimits(1_000)
    expect(s.decide(check(), 0)).toBeUndefined()
    s.prime(check(), [100], 0)
    expect(s.decide(check(), 10)).toEqual({ allowed: true })
    expect(s.decide(check(), 1_011)).toBeUndefined()
  })

  it("decides like GCRA from the primed TAT and counts what it allowed for the settle", () => {
    const s = new SyncedLimits(1_000)
    // Redis said: one request spent, the shared TAT 100 ms ahead (interval 100 ms).
    s.prime(check(), [100], 0)
    const verdicts = Array.from({ length: 6 }, () => s.decide(check(), 0))
    expect(verdicts.slice(0, 4)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }, { allowed: true }])
    expect(verdicts[4]).toMatchObject({ allowed: false, index: 0, retryAfterMs: 100 })
    expect(s.drain()).toEqual([{ key: "key:a", count: 4, intervalMs: 100 }])
    expect(s.drain()).toEqual([])
  })

  it("moves its copy up to what the settle says the others spent, never back", () => {
    const s = new SyncedLimits(1_000)
    s.prime(check(), [0], 0)
    s.decide(check(), 0)
    s.drain()
    // The shared TAT is 400 ms ahead: the other nodes spent 3 more; 1 request left in the burst.
    s.settled("key:a", 400, 0)
    expect(s.decide(check(), 0)).toEqual({ allowed: true })
    expect(s.decide(check(), 0)).toMatchObject({ allowed: false })
    s.settled("key:a", 0, 0)
    expect(s.decide(check(), 0)).toMatchObject({ allowed: false })
  })

  it("carries the counts of a failed settle into the next", () => {
    const s = new SyncedLimits(1_000)
    s.prime(check(), [0], 0)
    s.decide(check(), 0)
    s.decide(check(), 0)
    const first = s.drain()
    s.decide(check(), 0)
    s.restore(first)
    expect(s.drain()).toEqual([{ key: "key:a", count: 3, intervalMs: 100 }])
  })

  it("refuses the whole request when any of its limits refuses, spending none", () => {
    const s = new SyncedLimits(1_000)
    const both = [{ key: "ip:1", limit }, { key: "key:a", limit: { ratePerSec: 1, burst: 1 } }]
    s.prime(both, [0, 1_000], 0)
    expect(s.decide(both, 0)).toMatchObject({ allowed: false, index: 1 })
    expect(s.drain()).toEqual([])
  })

  it("on one node, allows exactly what GCRA allows", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 60 }), (gaps) => {
        const s = new SyncedLimits(1_000_000)
        s.prime(check(), [0], 0)
        let tat: number | undefined = 0
        let now = 0
        for (const gap of gaps) {
          now += gap
          const expected = gcra(tat, now, limit)
          if (expected.allowed) tat = expected.tat
          expect(s.decide(check(), now)?.allowed).toBe(expected.allowed)
        }
      })
    )
  })
})
