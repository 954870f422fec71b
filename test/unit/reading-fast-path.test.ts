import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Reading, SensorReading } from "../../src/domain/reading.js"
import { fastReading } from "../../src/http/reading-fast-path.js"

const decodeReading = Schema.decodeUnknownEither(Reading, { errors: "all", onExcessProperty: "error" })
const decodeSensorReading = Schema.decodeUnknownEither(SensorReading, { errors: "all", onExcessProperty: "error" })

const sensorIds = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:/-]{1,130}$/), fc.string({ maxLength: 20 }))
const values = fc.oneof(fc.double(), fc.integer(), fc.constant(Number.NaN), fc.string(), fc.constant(null))
const timestamps = fc.oneof(fc.double({ min: -1, max: 9e15 }), fc.constant("2026-01-01T00:00:00Z"), fc.string(), fc.constant(undefined))
const readings = fc.oneof(
  fc.record({ sensor: sensorIds, value: values, ts: timestamps }, { requiredKeys: [] }),
  fc.record({ sensor: sensorIds, value: values, ts: timestamps, extra: fc.anything() }, { requiredKeys: ["extra"] }),
  fc.anything()
)

describe("reading fast path", () => {
  it("accepts only what the Schema accepts, decoded the same way", () => {
    fc.assert(
      fc.property(readings, fc.boolean(), (u, withSensor) => {
        const fast = fastReading(u, withSensor)
        if (fast === null) return
        const slow = withSensor ? decodeReading(u) : decodeSensorReading(u)
        expect(Either.isRight(slow)).toBe(true)
        if (Either.isRight(slow)) {
          const r: { sensor?: string; ts?: number; value: number } = slow.right
          expect({ sensor: r.sensor, ts: r.ts, value: r.value }).toEqual(fast)
        }
      }),
      { numRuns: 5_000 }
    )
  })

  it("takes the common shapes and leaves ISO dates, bad ids and extra fields to the Schema", () => {
    expect(fastReading({ sensor: "pump-1", ts: 1_700_000_000_000, value: 1.5 }, true)).toEqual({ sensor: "pump-1", ts: 1_700_000_000_000, value: 1.5 })
    expect(fastReading({ value: 2 }, false)).toEqual({ sensor: undefined, ts: undefined, value: 2 })
    expect(fastReading({ sensor: "pump-1", ts: "2026-01-01T00:00:00Z", value: 1 }, true)).toBeNull()
    expect(fastReading({ sensor: "pump 1", value: 1 }, true)).toBeNull()
    expect(fastReading({ sensor: "a", value: 1, unit: "bar" }, true)).toBeNull()
    expect(fastReading({ sensor: "a", value: 1 }, false)).toBeNull()
    expect(fastReading(JSON.parse('{"__proto__": {"x": 1}, "value": 1}'), false)).toBeNull()
  })
})

describe("reading timestamps: one precision, the one PostgreSQL stores", () => {
  const tsOf = (u: unknown) => {
    const decoded = decodeReading(u)
    return Either.isRight(decoded) ? decoded.right.ts : "refused"
  }

  it("cuts fractional milliseconds at decode, so sub-millisecond resends are the same reading", () => {
    const t = 1_764_000_000_000
    expect(tsOf({ sensor: "a", ts: t + 0.1, value: 1 })).toBe(t)
    expect(tsOf({ sensor: "a", ts: t + 0.2, value: 1 })).toBe(t)
    expect(tsOf({ sensor: "a", ts: 5e-324, value: 1 })).toBe(0)
    expect(Object.is(tsOf({ sensor: "a", ts: -0, value: 1 }), 0)).toBe(true)
    expect(tsOf({ sensor: "a", ts: "2026-01-01T00:00:00.0001Z", value: 1 })).toBe(Date.UTC(2026, 0, 1))
    expect(fastReading({ sensor: "a", ts: t + 0.9, value: 1 }, true)?.ts).toBe(t)
  })

  it("refuses what lies outside 1970 .. 8.64e15 ms, numbers and ISO strings alike", () => {
    for (const ts of [-1, -5e-324, 8.64e15 + 1, 1e300, -1e300, 2 ** 1024 - 2 ** 970, "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]) {
      expect(tsOf({ sensor: "a", ts, value: 1 })).toBe("refused")
    }
    expect(tsOf({ sensor: "a", ts: 8.64e15, value: 1 })).toBe(8.64e15)
  })

  it("property: every decoded ts is a whole millisecond in range", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), (ts) => {
        const out = tsOf({ sensor: "a", ts, value: 1 })
        if (out === "refused") return
        expect(Number.isInteger(out)).toBe(true)
        expect(out).toBeGreaterThanOrEqual(0)
        expect(out).toBeLessThanOrEqual(8.64e15)
      }),
      { numRuns: 2_000 }
    )
  })
})
