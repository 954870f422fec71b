import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { outPayload, outTopic, qualityName, streamFields } from "../../src/forward/reading-encoding.js"

const pairs = (fields: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i < fields.length; i += 2) out[fields[i]!] = fields[i + 1]!
  return out
}

describe("forwarded reading encoding", () => {
  it("names the stored quality: 0 is ok, any suspect flag is suspect", () => {
    expect(qualityName(0)).toBe("good")
    expect(qualityName(1)).toBe("suspect")
    expect(qualityName(6)).toBe("suspect")
  })

  it("a stream entry names the tenant and the tenant's own sensor id", () => {
    expect(streamFields("site-7/pump-1", 1_767_225_600_000, 4.25, 0)).toEqual([
      "tenant",
      "default",
      "sensor",
      "site-7/pump-1",
      "ts",
      "1767225600000",
      "value",
      "4.25",
      "quality",
      "good"
    ])
    expect(pairs(streamFields("acme~pump", 5, -1e-7, 2))).toEqual({ tenant: "acme", sensor: "pump", ts: "5", value: "-1e-7", quality: "suspect" })
  })

  it("a topic is <prefix>/out/<sensor>, the tenant kept in the id inside the node", () => {
    expect(outTopic("flowmesh", "site-7/pump-1")).toBe("flowmesh/out/site-7/pump-1")
    expect(outTopic("plant-3/flowmesh", "acme~pump")).toBe("plant-3/flowmesh/out/acme~pump")
  })

  it("a payload is {sensor, ts, value, quality}", () => {
    expect(JSON.parse(outPayload("acme~site/a", 1_767_225_600_000, 81, 0))).toEqual({ sensor: "site/a", ts: 1_767_225_600_000, value: 81, quality: "good" })
  })

  it("every finite value and epoch-ms ts round-trips through the payload and the stream fields exactly", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._:/-]{1,40}$/),
        fc.integer({ min: 0, max: 8.64e15 }),
        fc.double({ min: -1e200, max: 1e200, noNaN: true, noDefaultInfinity: true }),
        fc.nat(255),
        (sensor, ts, value, quality) => {
          const decoded = JSON.parse(outPayload(sensor, ts, value, quality)) as { sensor: string; ts: number; value: number; quality: string }
          expect(decoded).toEqual({ sensor, ts, value: value === 0 ? 0 : value, quality: quality === 0 ? "good" : "suspect" })
          const fields = pairs(streamFields(sensor, ts, value, quality))
          expect(Number(fields.value)).toBe(value === 0 ? 0 : value)
          expect(Number(fields.ts)).toBe(ts)
        }
      )
    )
  })
})
