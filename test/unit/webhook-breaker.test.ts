import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  type BreakerState,
  blockedUntil,
  canAttempt,
  closedBreaker,
  isTripped,
  recordFailure,
  recordSuccess
} from "../../src/alerts/webhooks/breaker.js"

const settings = { failures: 3, openMs: 1000 }

const failTimes = (state: BreakerState, n: number, now: number): BreakerState => {
  let s = state
  for (let i = 0; i < n; i++) s = recordFailure(s, now, settings)
  return s
}

describe("webhook circuit breaker", () => {
  it("stays closed below the threshold and opens on the consecutive failure that reaches it", () => {
    const two = failTimes(closedBreaker, 2, 0)
    expect(two).toEqual({ _tag: "closed", failures: 2 })
    expect(canAttempt(two, 0).allowed).toBe(true)
    const open = recordFailure(two, 50, settings)
    expect(open).toEqual({ _tag: "open", until: 1050 })
    expect(isTripped(open)).toBe(true)
    expect(blockedUntil(open)).toBe(1050)
  })

  it("a success resets the count: only consecutive failures open it", () => {
    const s = failTimes(recordSuccess(failTimes(closedBreaker, 2, 0)), 2, 0)
    expect(s).toEqual({ _tag: "closed", failures: 2 })
  })

  it("refuses attempts while open, then lets exactly one probe through", () => {
    const open = failTimes(closedBreaker, 3, 0)
    expect(canAttempt(open, 999)).toEqual({ allowed: false, state: open })
    const probe = canAttempt(open, 1000)
    expect(probe).toEqual({ allowed: true, state: { _tag: "half_open", probing: true } })
    expect(canAttempt(probe.state, 1001).allowed).toBe(false)
    expect(blockedUntil(probe.state)).toBeNull()
    expect(isTripped(probe.state)).toBe(true)
  })

  it("a successful probe closes it; a failed probe reopens it for openMs from the failure", () => {
    const probing = canAttempt(failTimes(closedBreaker, 3, 0), 1000).state
    expect(recordSuccess(probing)).toEqual(closedBreaker)
    expect(recordFailure(probing, 1200, settings)).toEqual({ _tag: "open", until: 2200 })
  })

  it("a failure reported while open does not extend it", () => {
    const open = failTimes(closedBreaker, 3, 0)
    expect(recordFailure(open, 500, settings)).toBe(open)
  })

  it("half-open without a probe in flight allows one", () => {
    expect(canAttempt({ _tag: "half_open", probing: false }, 0)).toEqual({
      allowed: true,
      state: { _tag: "half_open", probing: true }
    })
  })

  it("whatever the history, nothing is allowed while open and it opens only after `failures` in a row", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ ok: fc.boolean(), dt: fc.integer({ min: 0, max: 3000 }) }), { maxLength: 60 }), (events) => {
        let state: BreakerState = closedBreaker
        let now = 0
        let failuresInRow = 0
        for (const e of events) {
          now += e.dt
          const decision = canAttempt(state, now)
          if (state._tag === "open" && now < state.until) expect(decision.allowed).toBe(false)
          state = decision.state
          if (!decision.allowed) continue
          const wasClosed = state._tag === "closed"
          failuresInRow = e.ok ? 0 : failuresInRow + 1
          state = e.ok ? recordSuccess(state) : recordFailure(state, now, settings)
          if (wasClosed && state._tag === "open") expect(failuresInRow).toBeGreaterThanOrEqual(settings.failures)
        }
      })
    )
  })
})
