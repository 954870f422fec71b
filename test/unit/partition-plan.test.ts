import { describe, expect, it } from "vitest"
import { isExpired, partitionAt, partitionsCovering, rangeOfName, retentionCutoff } from "../../src/storage/partition-plan.js"

const at = (iso: string) => Date.parse(iso)

describe("partition plan", () => {
  it("names and bounds day, month and year partitions in UTC", () => {
    expect(partitionAt("readings", "day", at("2026-12-05T23:59:59Z"))).toEqual({ name: "readings_20261205", lo: at("2026-12-05T00:00:00Z"), hi: at("2026-12-06T00:00:00Z") })
    expect(partitionAt("rollup_1h", "month", at("2026-12-31T12:00:00Z"))).toEqual({ name: "rollup_1h_202612", lo: at("2026-12-01T00:00:00Z"), hi: at("2027-01-01T00:00:00Z") })
    expect(partitionAt("rollup_1d", "year", at("2026-02-01T00:00:00Z"))).toEqual({ name: "rollup_1d_2026", lo: at("2026-01-01T00:00:00Z"), hi: at("2027-01-01T00:00:00Z") })
  })

  it("covers a range with each partition once, both ends included", () => {
    expect(partitionsCovering("rollup_1h", "month", at("2026-11-28T00:00:00Z"), at("2026-12-08T00:00:00Z")).map((p) => p.name)).toEqual(["rollup_1h_202611", "rollup_1h_202612"])
    expect(partitionsCovering("readings", "day", at("2026-12-05T00:00:00Z"), at("2026-12-07T00:00:00Z")).map((p) => p.name)).toEqual([
      "readings_20261205",
      "readings_20261206",
      "readings_20261207"
    ])
  })

  it("reads back only the names it makes, and drops a partition only once all of it is past the cutoff", () => {
    expect(rangeOfName("rollup_1h", "month", "rollup_1h_202610")?.hi).toBe(at("2026-11-01T00:00:00Z"))
    expect(rangeOfName("rollup_1h", "month", "rollup_1h_20261001")).toBeNull()
    expect(rangeOfName("rollup_1m", "day", "rollup_1m_2026")).toBeNull()
    expect(rangeOfName("readings", "day", "readings_default")).toBeNull()
    expect(rangeOfName("readings", "day", "readings_20261341")).toBeNull()
    const cutoff = retentionCutoff(at("2026-12-05T12:00:00Z"), 30)
    expect(new Date(cutoff).toISOString()).toBe("2026-11-05T00:00:00.000Z")
    expect(isExpired(partitionAt("rollup_1m", "day", at("2026-11-04T12:00:00Z")), cutoff)).toBe(true)
    expect(isExpired(partitionAt("rollup_1m", "day", at("2026-11-05T12:00:00Z")), cutoff)).toBe(false)
    expect(isExpired(partitionAt("rollup_1h", "month", at("2026-11-01T00:00:00Z")), cutoff)).toBe(false)
  })
})
