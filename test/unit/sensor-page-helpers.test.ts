/** The sensor page's pure parts (web/src/history-range.ts, live-window.ts, status-timeline.ts): intervals by range, live frames, the live window, backoff, the status timeline. */
import { describe, expect, it } from "vitest"
import { aggregatesOf, bucketLabel, customRangeOf, historyColumns, intervalFor, localInputValue, MAX_BUCKETS, RANGES, tierLabel } from "../../web/src/history-range.js"
import { historyReadingsOf, LiveWindow, liveFrameOf, reconnectDelayMs } from "../../web/src/live-window.js"
import { segmentsOf, transitionsOf } from "../../web/src/status-timeline.js"
import { formatShare, formatValue } from "../../web/src/format.js"

describe("history range → interval", () => {
  it("asks for 1 min buckets over an hour, 5 min over a day, 1 h over a week or a month", () => {
    expect(Object.fromEntries(RANGES.map((r) => [r.id, intervalFor(r.spanMs)]))).toEqual({ hour: "1m", day: "5m", week: "1h", month: "1h" })
  })

  it("keeps every span within MAX_BUCKETS buckets, days beyond a month", () => {
    const ms = { "1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000, "1w": 7 * 86_400_000, "1mo": 28 * 86_400_000 }
    for (const span of [1, 60_000, 3_600_000, 12 * 3_600_000, 86_400_000, 2 * 86_400_000, 31 * 86_400_000, 365 * 86_400_000]) {
      expect(Math.ceil(span / ms[intervalFor(span)])).toBeLessThanOrEqual(MAX_BUCKETS)
    }
    expect(intervalFor(31 * 86_400_000)).toBe("1h")
    expect(intervalFor(32 * 86_400_000)).toBe("1d")
    expect(intervalFor(3 * 365 * 86_400_000)).toBe("1w")
    expect(intervalFor(20 * 365 * 86_400_000)).toBe("1mo")
    expect(Math.ceil((50 * 365 * 86_400_000) / (28 * 86_400_000))).toBeLessThanOrEqual(MAX_BUCKETS)
  })

  it("reads a custom range or names the field that is wrong", () => {
    const parse = (t: string) => Date.parse(`${t}:00Z`)
    expect(customRangeOf("2026-12-01T00:00", "2026-12-02T00:00", parse)).toEqual({ ok: true, from: Date.UTC(2026, 11, 1), to: Date.UTC(2026, 11, 2) })
    expect(customRangeOf("", "2026-12-02T00:00", parse)).toEqual({ ok: false, field: "from", message: "From: enter a date and time" })
    expect(customRangeOf("2026-12-01T00:00", "", parse)).toEqual({ ok: false, field: "to", message: "To: enter a date and time" })
    expect(customRangeOf("2026-12-02T00:00", "2026-12-01T00:00", parse)).toEqual({ ok: false, field: "to", message: "To: must be after From" })
  })

  it("writes a datetime-local value that reads back as the same minute", () => {
    const at = new Date(2026, 11, 6, 5, 7, 42).getTime()
    expect(localInputValue(at)).toBe("2026-12-06T05:07")
    expect(new Date(localInputValue(at)).getTime()).toBe(new Date(2026, 11, 6, 5, 7).getTime())
  })

  it("labels intervals and tiers in words", () => {
    expect(bucketLabel("1m")).toBe("1 min buckets")
    expect(bucketLabel("1h")).toBe("1 h buckets")
    expect(bucketLabel("1mo")).toBe("1 month buckets")
    expect(tierLabel("1m")).toBe("from the 1 min rollups")
  })
})

describe("aggregates answer", () => {
  const bucket = (start: number, mean: number) => ({ start, end: start + 60_000, count: 2, min: mean - 1, max: mean + 1, sum: 2 * mean, mean, suspect: { count: 1, spike: 1 } })

  it("decodes the answer and refuses another shape", () => {
    const a = aggregatesOf({ sensor: "s", interval: "1m", tz: "UTC", tier: "1m", next: null, buckets: [bucket(0, 5)] })
    expect(a).toEqual({ interval: "1m", tier: "1m", next: null, buckets: [{ start: 0, end: 60_000, count: 2, min: 4, max: 6, mean: 5, suspect: 1 }] })
    expect(aggregatesOf({ interval: "1m", tier: "1m", buckets: [{ start: 0 }] })).toBeNull()
    expect(aggregatesOf([])).toBeNull()
  })

  it("turns buckets into columns oldest first, breaking the line where buckets are absent", () => {
    const a = aggregatesOf({ interval: "1m", tier: "1m", next: null, buckets: [bucket(180_000, 3), bucket(0, 1), bucket(60_000, 2)] })!
    expect(historyColumns(a.buckets)).toEqual([
      [0, 60, 120, 180],
      [1, 2, null, 3],
      [0, 1, null, 2],
      [2, 3, null, 4]
    ])
  })
})

describe("live frames", () => {
  it("decodes readings, subscribed, state, lagged, degraded and errors", () => {
    expect(liveFrameOf(JSON.stringify({ type: "readings", sensors: [{ sensor: "a", ts: [1], values: [2], quality: [0] }] }))).toEqual({
      type: "readings",
      sensors: [{ sensor: "a", ts: [1], values: [2], quality: [0] }]
    })
    expect(liveFrameOf(JSON.stringify({ type: "readings", sensors: [{ sensor: "a", ts: [1, 2], values: [2], quality: [0] }] }))).toBeNull()
    expect(liveFrameOf(JSON.stringify({ type: "subscribed", sensors: [{ sensor: "a", state: { status: "online", lastTs: 5 } }, { sensor: "b", state: null }], prefixes: [] }))).toEqual({
      type: "subscribed",
      states: [
        { sensor: "a", state: { status: "online", lastTs: 5 } },
        { sensor: "b", state: null }
      ]
    })
    expect(liveFrameOf(JSON.stringify({ type: "state", sensor: "a", from: "online", to: "degraded", at: 9, reason: "r" }))).toEqual({ type: "state", sensor: "a", to: "degraded", at: 9, reason: "r" })
    expect(liveFrameOf(JSON.stringify({ type: "lagged", dropped: 12 }))).toEqual({ type: "lagged", dropped: 12 })
    expect(liveFrameOf(JSON.stringify({ type: "degraded", reason: "redis_unavailable", message: "paused" }))).toEqual({ type: "degraded", message: "paused" })
    expect(liveFrameOf(JSON.stringify({ type: "error", code: "too_many_subscriptions", message: "m" }))).toEqual({ type: "error", code: "too_many_subscriptions", message: "m" })
    expect(liveFrameOf(JSON.stringify({ type: "alert", notification: { alertId: 1 } }))).toEqual({ type: "alert", notification: { alertId: 1 } })
    expect(liveFrameOf(JSON.stringify({ type: "welcome", version: 2 }))).toEqual({ type: "other" })
    expect(liveFrameOf("{nope")).toBeNull()
  })
})

describe("live window", () => {
  it("keeps the last minutes in time order, suspect values apart", () => {
    const w = new LiveWindow(60_000, 1_000)
    w.add({ sensor: "a", ts: [1_000, 3_000], values: [1, 3], quality: [0, 4] }, 3_000)
    w.add({ sensor: "a", ts: [2_000], values: [2], quality: [0] }, 3_000)
    expect(w.columns()).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [null, null, 3]
    ])
    expect(w.suspectCount).toBe(1)
    expect(w.newestTs).toBe(3_000)
    w.trim(62_500)
    expect(w.columns()[0]).toEqual([3])
    w.clear()
    expect(w.size).toBe(0)
    expect(w.newestValue).toBeNull()
  })

  it("holds at most maxPoints, dropping the oldest", () => {
    const w = new LiveWindow(60_000, 3)
    w.add({ sensor: "a", ts: [1, 2, 3, 4, 5], values: [1, 2, 3, 4, 5], quality: [0, 0, 0, 0, 0] }, 10)
    expect(w.columns()[1]).toEqual([3, 4, 5])
  })
})

describe("reconnect backoff", () => {
  it("doubles from 0.5 s to at most 30 s, jitter shortening it by at most a fifth", () => {
    expect([0, 1, 2, 3, 10, 100].map((a) => reconnectDelayMs(a, 0))).toEqual([500, 1_000, 2_000, 4_000, 30_000, 30_000])
    expect(reconnectDelayMs(0, 1)).toBe(400)
    expect(reconnectDelayMs(3, 0.5)).toBe(3_600)
  })
})

describe("status timeline", () => {
  const t = (from: string, to: string, at: number, reason = "") => ({ from, to, at, reason })

  it("decodes the state's transitions oldest first and leaves out what is not one", () => {
    expect(transitionsOf([t("online", "fault", 20, "3 consecutive invalid readings"), { from: "x" }, t("unknown", "online", 10, "first reading"), t("a", "b", Number.NaN)])).toEqual([
      t("unknown", "online", 10, "first reading"),
      t("online", "fault", 20, "3 consecutive invalid readings")
    ])
    expect(transitionsOf(null)).toEqual([])
  })

  it("gives each status the span until the next change, the last one until now", () => {
    const s = segmentsOf([t("unknown", "online", 0, "first reading"), t("online", "degraded", 30), t("degraded", "online", 90)], 100)
    expect(s.map((x) => [x.status, x.from, x.to, x.share])).toEqual([
      ["online", 0, 30, 0.3],
      ["degraded", 30, 90, 0.6],
      ["online", 90, 100, 0.1]
    ])
    expect(s[0]!.reason).toBe("first reading")
  })

  it("shares add up to 1 whatever the clock says, and nothing gives no segments", () => {
    expect(segmentsOf([], 5)).toEqual([])
    const early = segmentsOf([t("unknown", "online", 10), t("online", "fault", 20)], 0)
    expect(early.map((x) => x.share)).toEqual([1, 0])
    const instant = segmentsOf([t("unknown", "online", 10), t("online", "fault", 10)], 10)
    expect(instant.map((x) => x.share)).toEqual([0.5, 0.5])
  })
})

describe("figures in the lists", () => {
  it("writes shares as percentages and values with up to 4 decimals", () => {
    expect([formatShare(null), formatShare(0), formatShare(0.125), formatShare(0.0001), formatShare(1)]).toEqual(["–", "0 %", "12.5 %", "<0.1 %", "100 %"])
    expect([formatValue(null), formatValue(Math.PI), formatValue(12345)]).toEqual(["–", "3.1416", "12,345"])
  })
})

describe("live window backfill", () => {
  it("reads a history page as live readings, suspect as 1, and refuses another shape", () => {
    const page = { sensor: "s", readings: [{ ts: 30, value: 3, quality: "suspect", reasons: ["spike"] }, { ts: 10, value: 1, quality: "good", reasons: [] }], next: null }
    expect(historyReadingsOf(page)).toEqual({ sensor: "s", ts: [30, 10], values: [3, 1], quality: [1, 0] })
    expect(historyReadingsOf({ sensor: "s", readings: [{ ts: "x" }] })).toBeNull()
    expect(historyReadingsOf([])).toBeNull()
  })

  it("merges history into what came live, in time order, drawing nothing twice", () => {
    const w = new LiveWindow(1_000, 100)
    w.add({ sensor: "s", ts: [50, 60], values: [5, 6], quality: [0, 0] }, 100)
    w.backfill({ sensor: "s", ts: [60, 40, 20, -2_000], values: [6, 4, 2, 9], quality: [0, 1, 0, 0] }, 100)
    expect(w.columns()).toEqual([
      [0.02, 0.04, 0.05, 0.06],
      [2, 4, 5, 6],
      [null, 4, null, null]
    ])
    w.backfill({ sensor: "s", ts: [20, 40], values: [2, 4], quality: [0, 1] }, 100)
    expect(w.size).toBe(4)
  })
})
