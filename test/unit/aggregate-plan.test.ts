import { describe, expect, it } from "vitest"
import { isTimeZone, offsetMinutes, planAggregates, wholeHourOffsets } from "../../src/domain/aggregate-plan.js"

const retention = { minuteDays: 30, hourDays: 400, dayDays: 3_650 }
const now = Date.parse("2026-12-05T12:00:00Z")
const recent = now - 86_400_000
const plan = (interval: Parameters<typeof planAggregates>[0]["interval"], tz: string, from = recent) => planAggregates({ interval, tz, from, to: now }, retention, now)

describe("aggregate plan", () => {
  it("knows IANA zones and their offsets, DST included", () => {
    expect(isTimeZone("Europe/Berlin")).toBe(true)
    expect(isTimeZone("Mars/Olympus")).toBe(false)
    expect(offsetMinutes("Europe/Berlin", Date.parse("2026-07-01T00:00:00Z"))).toBe(120)
    expect(offsetMinutes("Europe/Berlin", Date.parse("2026-12-01T00:00:00Z"))).toBe(60)
    expect(offsetMinutes("Asia/Kolkata", now)).toBe(330)
    expect(offsetMinutes("America/St_Johns", Date.parse("2026-01-01T00:00:00Z"))).toBe(-210)
    expect(wholeHourOffsets("Europe/Berlin", now - 365 * 86_400_000, now)).toBe(true)
    expect(wholeHourOffsets("Asia/Kolkata", recent, now)).toBe(false)
  })

  it("picks the coarsest tier whose buckets nest in the asked ones", () => {
    expect(plan("1m", "UTC")).toEqual({ plan: { tier: "1m", bucketing: { kind: "fixed", seconds: 60 } } })
    expect(plan("15m", "Asia/Kolkata")).toMatchObject({ plan: { tier: "1m" } })
    expect(plan("1h", "UTC")).toMatchObject({ plan: { tier: "1h" } })
    expect(plan("1h", "Asia/Kolkata")).toMatchObject({ plan: { tier: "1m" } })
    expect(plan("1d", "UTC")).toEqual({ plan: { tier: "1d", bucketing: { kind: "calendar", unit: "day" } } })
    expect(plan("1w", "Europe/Berlin")).toEqual({ plan: { tier: "1h", bucketing: { kind: "calendar", unit: "week" } } })
    expect(plan("1mo", "Asia/Kolkata")).toMatchObject({ plan: { tier: "1m", bucketing: { unit: "month" } } })
  })

  it("refuses a range past the chosen tier's retention, naming from, the setting and what would answer", () => {
    const old = now - 40 * 86_400_000
    expect(plan("5m", "UTC", old)).toEqual({
      param: "from",
      message: "5m buckets in UTC come from the 1m rollups, kept 30 days (ROLLUP_1M_RETENTION_DAYS): from must be at or after 2026-11-05T00:00:00.000Z; for older ranges ask for interval=1h or longer"
    })
    expect(plan("1h", "UTC", old)).toMatchObject({ plan: { tier: "1h" } })
    expect(plan("1d", "Europe/Berlin", now - 500 * 86_400_000)).toMatchObject({ param: "from", message: expect.stringContaining("ask for tz=UTC") })
    expect(plan("1mo", "UTC", now - 3_000 * 86_400_000)).toMatchObject({ plan: { tier: "1d" } })
    expect(plan("1mo", "UTC", now - 4_000 * 86_400_000)).toMatchObject({ param: "from", message: expect.stringContaining("ROLLUP_1D_RETENTION_DAYS") })
  })
})
