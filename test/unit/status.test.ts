import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  DEGRADED_MIN_SAMPLES,
  decideStatus,
  FAULT_RECOVERY_ACCEPTED,
  nextStatus,
  type StatusInput
} from "../../src/core/status.js"
import type { SensorStatus } from "../../src/domain/reasons.js"

const cfg = { degradedRatio: 0.3, faultInvalidCount: 10 }
const input = (patch: Partial<StatusInput> = {}): StatusInput => ({
  accepted: 20,
  suspect: 0,
  consecutiveInvalid: 0,
  consecutiveAccepted: 1,
  ...patch
})

describe("status machine", () => {
  it("exports its constants", () => {
    expect(FAULT_RECOVERY_ACCEPTED).toBe(5)
    expect(DEGRADED_MIN_SAMPLES).toBe(10)
  })

  it("unknown stays unknown until the first accepted reading", () => {
    expect(nextStatus("unknown", input({ accepted: 0, consecutiveAccepted: 0 }), cfg)).toBeNull()
    expect(nextStatus("unknown", input({ accepted: 1 }), cfg)).toEqual({ status: "online", reason: "first reading" })
  })

  it("unknown goes to fault when invalid readings come first", () => {
    expect(nextStatus("unknown", input({ accepted: 0, consecutiveInvalid: 9, consecutiveAccepted: 0 }), cfg)).toBeNull()
    expect(nextStatus("unknown", input({ accepted: 0, consecutiveInvalid: 10, consecutiveAccepted: 0 }), cfg)).toEqual({
      status: "fault",
      reason: "10 consecutive invalid readings"
    })
  })

  it("online -> degraded only above the ratio and with at least 10 readings", () => {
    expect(nextStatus("online", input({ accepted: 10, suspect: 3 }), cfg)).toBeNull()
    expect(nextStatus("online", input({ accepted: 9, suspect: 9 }), cfg)).toBeNull()
    expect(nextStatus("online", input({ accepted: 10, suspect: 4 }), cfg)).toEqual({
      status: "degraded",
      reason: "suspect share 40% > 30%"
    })
    expect(nextStatus("online", input({ accepted: 1000, suspect: 301 }), cfg)?.reason).toBe("suspect share 30.1% > 30%")
  })

  it("degraded -> online only at or below half the ratio (hysteresis)", () => {
    expect(nextStatus("degraded", input({ accepted: 100, suspect: 30 }), cfg)).toBeNull()
    expect(nextStatus("degraded", input({ accepted: 100, suspect: 16 }), cfg)).toBeNull()
    expect(nextStatus("degraded", input({ accepted: 100, suspect: 15 }), cfg)).toEqual({
      status: "online",
      reason: "suspect share 15% <= 15%"
    })
  })

  it("online and degraded go to fault after faultInvalidCount consecutive invalid readings", () => {
    for (const from of ["online", "degraded"] as const) {
      expect(nextStatus(from, input({ suspect: 10, consecutiveInvalid: 9, consecutiveAccepted: 0 }), cfg)?.status).not.toBe("fault")
      expect(nextStatus(from, input({ consecutiveInvalid: 10, consecutiveAccepted: 0 }), cfg)).toEqual({
        status: "fault",
        reason: "10 consecutive invalid readings"
      })
    }
  })

  it("fault recovers after 5 consecutive accepted readings, to online or degraded", () => {
    expect(nextStatus("fault", input({ consecutiveAccepted: 4 }), cfg)).toBeNull()
    expect(nextStatus("fault", input({ consecutiveAccepted: 5 }), cfg)).toEqual({ status: "online", reason: "recovered" })
    expect(nextStatus("fault", input({ accepted: 10, suspect: 5, consecutiveAccepted: 5 }), cfg)).toEqual({
      status: "degraded",
      reason: "recovered; suspect share 50% > 30%"
    })
  })

  it("fault stays fault while invalid readings continue", () => {
    expect(nextStatus("fault", input({ consecutiveInvalid: 50, consecutiveAccepted: 0 }), cfg)).toBeNull()
  })

  it("a ratio of 1 never degrades; a ratio of 0 degrades on any suspect", () => {
    expect(nextStatus("online", input({ accepted: 10, suspect: 10 }), { ...cfg, degradedRatio: 1 })).toBeNull()
    expect(nextStatus("online", input({ accepted: 10, suspect: 1 }), { ...cfg, degradedRatio: 0 })?.status).toBe("degraded")
    expect(nextStatus("degraded", input({ accepted: 10, suspect: 0 }), { ...cfg, degradedRatio: 0 })?.status).toBe("online")
  })

  const statuses = fc.constantFrom<SensorStatus>("unknown", "online", "degraded", "fault")
  const inputs = fc
    .record({
      accepted: fc.integer({ min: 0, max: 100 }),
      suspectShare: fc.double({ min: 0, max: 1, noNaN: true }),
      consecutiveInvalid: fc.integer({ min: 0, max: 20 }),
      consecutiveAccepted: fc.integer({ min: 0, max: 20 })
    })
    .map(({ accepted, suspectShare, ...rest }) => ({ accepted, suspect: Math.floor(accepted * suspectShare), ...rest }))
  const configs = fc.record({
    degradedRatio: fc.double({ min: 0, max: 1, noNaN: true }),
    faultInvalidCount: fc.integer({ min: 1, max: 15 })
  })

  it("property: nextStatus agrees with decideStatus, never answers the current status, and follows allowed edges", () => {
    const allowed = new Set(["unknown>online", "unknown>fault", "online>degraded", "online>fault", "degraded>online", "degraded>fault", "fault>online", "fault>degraded"])
    fc.assert(
      fc.property(statuses, inputs, configs, (from, i, c) => {
        const next = nextStatus(from, i, c)
        expect(next?.status ?? null).toBe(decideStatus(from, i.accepted, i.suspect, i.consecutiveInvalid, i.consecutiveAccepted, c))
        if (next !== null) {
          expect(allowed.has(`${from}>${next.status}`)).toBe(true)
          expect(next.reason.length).toBeGreaterThan(0)
        }
      }),
      { numRuns: 2000 }
    )
  })

  it("property: hysteresis — right after entering degraded, the same input does not leave it", () => {
    fc.assert(
      fc.property(inputs, configs, (i, c) => {
        if (nextStatus("online", i, c)?.status === "degraded") expect(nextStatus("degraded", i, c)).toBeNull()
      }),
      { numRuns: 2000 }
    )
  })
})
