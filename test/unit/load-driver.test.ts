import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { parseArgs, parseDuration } from "../../load/driver/args.js"
import { arrivalsIn, intendedTime, runArrivals } from "../../load/driver/arrival.js"
import { findKnee, judgeStep } from "../../load/driver/knee.js"
import { isLoopback, loopbackProblem } from "../../load/driver/loopback.js"
import { errorRate, Recorder } from "../../load/driver/recorder.js"

describe("load driver arguments", () => {
  it("reads flags with defaults and units", () => {
    const r = parseArgs(["--scenario", "ws", "--rate=250", "--duration", "2m", "--sensors", "5000", "--knee", "--knee-step", "5s"])
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.options).toMatchObject({ scenario: "ws", rate: 250, durationMs: 120_000, sensors: 5000, batch: 10, knee: { enabled: true, stepMs: 5000 } })
    expect(parseDuration("500ms")).toBe(500)
    expect(parseDuration("1.5s")).toBe(1500)
    expect(parseDuration("soon")).toBeNull()
  })

  it("names every bad flag and why", () => {
    const r = parseArgs(["--scenario", "udp", "--rate", "fast", "--duration", "forever", "--ack", "maybe", "--colour", "red", "stray"])
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.errors).toHaveLength(6)
    expect(r.errors).toEqual(
      expect.arrayContaining([
        "stray: unexpected argument (flags are --name value)",
        '--scenario: one of http, ws, live, mixed, mqtt, got "udp"',
        '--ack: durable or accepted, got "maybe"',
        "--colour: unknown flag",
        '--rate: must be a number from 0.1 to 1000000, got "fast"',
        '--duration: must be a duration like 500ms, 10s or 2m (at most 1 h), got "forever"'
      ])
    )
    expect(parseArgs([]).ok).toBe(false)
  })

  it("targets loopback only", () => {
    expect(isLoopback("127.0.0.1")).toBe(true)
    expect(isLoopback("127.5.0.9")).toBe(true)
    expect(isLoopback("localhost")).toBe(true)
    expect(isLoopback("[::1]")).toBe(true)
    expect(isLoopback("10.0.0.1")).toBe(false)
    expect(isLoopback("127.0.0.1.example.com")).toBe(false)
    expect(loopbackProblem("http://127.0.0.1:8080")).toBeNull()
    expect(loopbackProblem("https://example.com")).toMatch(/loopback only/)
    expect(loopbackProblem("ftp://127.0.0.1")).toMatch(/http/)
    expect(loopbackProblem("nope")).toMatch(/not a URL/)
  })
})

describe("open-model arrivals", () => {
  it("spaces arrivals evenly and bounds their number", () => {
    expect(arrivalsIn(100, 2_000)).toBe(200)
    expect(intendedTime(1_000, 4, 3)).toBe(1_750)
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 10_000, noNaN: true }), fc.integer({ min: 0, max: 10_000 }), (rate, i) => {
        expect(intendedTime(0, rate, i + 1) - intendedTime(0, rate, i)).toBeCloseTo(1000 / rate, 6)
      })
    )
  })

  it("counts arrivals that find the in-flight bound reached instead of delaying them", async () => {
    const recorder = new Recorder("t")
    const hold: Array<() => void> = []
    await runArrivals({
      ratePerSec: 1_000,
      durationMs: 50,
      maxInFlight: 5,
      drainMs: 10,
      recorder,
      fire: () => new Promise<void>((resolve) => hold.push(resolve))
    })
    expect(recorder.sent).toBe(5)
    expect(recorder.unsent).toBe(45)
    for (const release of hold) release()
  })
})

describe("recorder", () => {
  it("measures from the intended time and keeps percentiles and a per-second series", () => {
    const r = new Recorder("t", 0)
    for (let i = 1; i <= 1000; i++) r.recordOk(0, i / 10, { accepted: 10, durable: 10 })
    r.recordError("ECONNRESET", 500)
    r.recordRejected("duplicate", 3)
    r.end(2_000)
    const s = r.summary()
    expect(s.latencyMs.count).toBe(1000)
    expect(s.latencyMs.p50).toBeCloseTo(50, 0)
    expect(s.latencyMs.p99).toBeCloseTo(99, 0)
    expect(s.latencyMs.max).toBeCloseTo(100, 0)
    expect(s.acceptedReadings).toBe(10_000)
    expect(s.throughput.readingsPerSec).toBe(5_000)
    expect(s.rejected).toEqual({ duplicate: 3 })
    expect(s.series[0]).toMatchObject({ second: 0, ok: 1000, errors: 1 })
  })

  it("error rate counts failed and unsent arrivals over all that were due", () => {
    const r = new Recorder("t", 0)
    for (let i = 0; i < 8; i++) r.markSent(i)
    r.markUnsent()
    r.markUnsent()
    r.recordError("http_503", 1, true)
    expect(errorRate(r.summary())).toBeCloseTo(3 / 10)
  })
})

describe("knee", () => {
  const summaryAt = (p99: number, errors = 0) => {
    const r = new Recorder("t", 0)
    for (let i = 0; i < 100; i++) {
      r.markSent(i)
      r.recordOk(0, i < 95 ? 1 : p99, { accepted: 1, durable: 1 })
    }
    for (let i = 0; i < errors; i++) r.recordError("x", 0)
    r.end(1_000)
    return r.summary()
  }

  it("judges a step against p99 and the error rate", () => {
    expect(judgeStep(100, summaryAt(10), 50, 0.01).held).toBe(true)
    expect(judgeStep(100, summaryAt(80), 50, 0.01).why).toMatch(/^p99 /)
    expect(judgeStep(100, summaryAt(10, 5), 50, 0.01).why).toMatch(/^error rate/)
  })

  it("steps up until a step breaks and reports the last rate that held", async () => {
    const seen: Array<number> = []
    const k = await findKnee(100, 2, 10, async (rate) => {
      seen.push(rate)
      return { rate, p99Ms: rate / 10, errorRate: 0, held: rate < 800, why: rate < 800 ? null : "p99" }
    })
    expect(seen).toEqual([100, 200, 400, 800])
    expect(k.sustainableRate).toBe(400)
    const none = await findKnee(100, 2, 10, async (rate) => ({ rate, p99Ms: 99, errorRate: 0, held: false, why: "p99" }))
    expect(none.sustainableRate).toBeNull()
  })
})
