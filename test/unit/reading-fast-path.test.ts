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
