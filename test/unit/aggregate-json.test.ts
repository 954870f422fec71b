import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { bucketPage, JsonBytes, seriesPage } from "../../src/http/aggregate-json.js"
import type { AggregateText } from "../../src/storage/aggregate-repo.js"

const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as unknown

/** A row as PostgreSQL's float8 / int8 text would give it (shortest round-trip text, as JS writes it too), values within a reading's bounds. */
const row = (sensor: string, i: number, v: number): AggregateText => ({
  sensor,
  start: String(1_700_000_000_000 + i * 60_000),
  end: String(1_700_000_060_000 + i * 60_000),
  n: "60",
  lo: String(v - 1),
  hi: String(v + 1),
  total: String(v * 60),
  mean: String(v),
  first_ts: String(1_700_000_000_000 + i * 60_000),
  first_value: String(v),
  last_ts: String(1_700_000_059_000 + i * 60_000),
  last_value: String(-v),
  suspect: "2",
  spike: "1",
  rate_of_change: "1",
  stuck: "0",
  out_of_range: "0"
})

const bucketOf = (r: AggregateText) => ({
  start: Number(r.start),
  end: Number(r.end),
  count: Number(r.n),
  min: Number(r.lo),
  max: Number(r.hi),
  sum: Number(r.total),
  mean: Number(r.mean),
  first: { ts: Number(r.first_ts), value: Number(r.first_value) },
  last: { ts: Number(r.last_ts), value: Number(r.last_value) },
  suspect: { count: 2, spike: 1, rate_of_change: 1, stuck: 0, out_of_range: 0 }
})

describe("aggregate pages written as JSON bytes", () => {
  it("equal what JSON.stringify makes of the same buckets, for any values, ids and page sizes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("a", "b", "site/ü-1"), fc.double({ min: -1e200, max: 1e200, noNaN: true })), { maxLength: 40 }),
        fc.option(fc.string(), { nil: null }),
        (values, next) => {
          const rows = values.map(([s, v], i) => row(s, i, v)).sort((x, y) => (x.sensor < y.sensor ? -1 : x.sensor > y.sensor ? 1 : 0))
          const one = rows.filter((r) => r.sensor === "a")
          expect(decode(bucketPage({ sensor: "a", interval: "1m", tz: "Europe/Zürich", tier: "1m" }, one, next))).toEqual({
            sensor: "a",
            interval: "1m",
            tz: "Europe/Zürich",
            tier: "1m",
            buckets: one.map(bucketOf),
            next
          })
          const series: Array<{ sensor: string; buckets: Array<ReturnType<typeof bucketOf>> }> = []
          for (const r of rows) {
            const open = series[series.length - 1]
            if (open?.sensor === `x:${r.sensor}`) open.buckets.push(bucketOf(r))
            else series.push({ sensor: `x:${r.sensor}`, buckets: [bucketOf(r)] })
          }
          expect(decode(seriesPage({ interval: "1m", tz: "UTC", tier: "1m" }, rows, (s) => `x:${s}`, next))).toEqual({ interval: "1m", tz: "UTC", tier: "1m", series, next })
        }
      )
    )
  })

  it("grows past its first size without losing bytes", () => {
    const out = new JsonBytes(4)
    for (let i = 0; i < 1_000; i++) out.ascii(i === 0 ? "[" : ",").ascii(String(i))
    out.ascii("]")
    expect(decode(out.done())).toEqual(Array.from({ length: 1_000 }, (_, i) => i))
  })
})
