/**
 * The aggregates API on a real node and PostgreSQL: readings sent over HTTP come back as exact
 * buckets once the rollup job has run (gaps absent, not zero), one sensor or many by prefix with
 * pagination, calendar days in a time zone across a DST change, and every bad parameter answered
 * 400 naming it.
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { awaitMetric } from "../support/metrics.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

interface Bucket {
  start: number
  end: number
  count: number
  min: number
  max: number
  sum: number
  mean: number
  first: { ts: number; value: number }
  last: { ts: number; value: number }
  suspect: { count: number }
}

describe("aggregates API", () => {
  let db: TestDatabase
  let node: RunningNode
  // Three whole minutes, an hour ago: minute 0 and 2 get readings, minute 1 none.
  const base = Math.floor((Date.now() - 3_600_000) / 3_600_000) * 3_600_000 + 10 * 60_000

  beforeAll(async () => {
    db = await createTestDatabase("aggregates")
    node = await startNode({ DATABASE_URL: db.url, ROLLUP_INTERVAL_MS: "50" })
    const readings = [
      ...[1, 5, 3].map((value, i) => ({ sensor: "plant-1", ts: base + i * 10_000, value })),
      ...[7, 2].map((value, i) => ({ sensor: "plant-1", ts: base + 120_000 + i * 1_000, value })),
      ...[10, 20, 30].map((value, i) => ({ sensor: "site-7/a", ts: base + i * 60_000, value })),
      ...[4, 6].map((value, i) => ({ sensor: "site-7/b", ts: base + i * 60_000, value })),
      { sensor: "site-70", ts: base, value: 99 }
    ]
    expect(await postJson(`${node.url}/api/v1/readings`, { readings })).toMatchObject({ status: 202, body: { accepted: readings.length, durable: true } })
    await awaitMetric(node.url, "flowmesh_rollup_marks_total", (n) => n >= 1)
    await awaitMetric(node.url, "flowmesh_rollup_pending_marks", (n) => n === 0)
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  const get = (path: string) => getJson(`${node.url}${path}`)

  it("answers a sensor's 1 min buckets exactly, with the empty minute absent", async () => {
    const r = await get(`/api/v1/sensors/plant-1/aggregates?interval=1m&from=${base}&to=${base + 180_000}`)
    expect(r.status).toBe(200)
    const body = r.body as { tier: string; buckets: Array<Bucket>; next: string | null }
    expect(body).toMatchObject({ tier: "1m", next: null })
    expect(body.buckets).toEqual([
      {
        start: base,
        end: base + 60_000,
        count: 3,
        min: 1,
        max: 5,
        sum: 9,
        mean: 3,
        first: { ts: base, value: 1 },
        last: { ts: base + 20_000, value: 3 },
        suspect: expect.objectContaining({ count: expect.any(Number) })
      },
      expect.objectContaining({ start: base + 120_000, count: 2, min: 2, max: 7, sum: 9, first: { ts: base + 120_000, value: 7 }, last: { ts: base + 121_000, value: 2 } })
    ])
  })

  it("answers hours from the 1 h tier and 5 min buckets from the 1 min tier", async () => {
    const hour = Math.floor(base / 3_600_000) * 3_600_000
    const h = await get(`/api/v1/sensors/plant-1/aggregates?interval=1h&from=${hour}&to=${hour + 3_600_000}`)
    expect(h.body).toMatchObject({ tier: "1h", buckets: [{ start: hour, end: hour + 3_600_000, count: 5, min: 1, max: 7, sum: 18, first: { value: 1 }, last: { value: 2 } }] })
    const five = await get(`/api/v1/sensors/plant-1/aggregates?interval=5m&from=${hour}&to=${hour + 3_600_000}`)
    expect(five.body).toMatchObject({ tier: "1m", buckets: [{ start: base, count: 5 }] })
  })

  it("answers many sensors by prefix, tenant-scoped, page by page", async () => {
    const first = await get(`/api/v1/aggregates?prefix=site-7/&interval=1m&from=${base}&to=${base + 180_000}&limit=2`)
    expect(first.status).toBe(200)
    const page1 = first.body as { series: Array<{ sensor: string; buckets: Array<Bucket> }>; next: string }
    expect(page1.series).toEqual([{ sensor: "site-7/a", buckets: [expect.objectContaining({ start: base, sum: 10 }), expect.objectContaining({ start: base + 60_000, sum: 20 })] }])
    const seen: Array<string> = []
    let next: string | null = page1.next
    for (const s of page1.series) for (const b of s.buckets) seen.push(`${s.sensor}@${b.start - base}`)
    while (next !== null) {
      const page = (await get(next)).body as { series: Array<{ sensor: string; buckets: Array<Bucket> }>; next: string | null }
      for (const s of page.series) for (const b of s.buckets) seen.push(`${s.sensor}@${b.start - base}`)
      next = page.next
    }
    expect(seen).toEqual(["site-7/a@0", "site-7/a@60000", "site-7/a@120000", "site-7/b@0", "site-7/b@60000"])
    const byIds = await get(`/api/v1/aggregates?sensors=site-70,plant-1&interval=1h&from=${base - 3_600_000}`)
    expect((byIds.body as { series: Array<{ sensor: string }> }).series.map((s) => s.sensor)).toEqual(["plant-1", "site-70"])
  })

  it("buckets calendar days in the asked time zone across a DST change (25 hours on 2026-10-25 in Berlin)", async () => {
    const [{ key }] = await node.sql<{ key: number }>("select key from sensors where id = 'plant-1'") as [{ key: number }]
    await node.sql("select flowmesh_ensure_range_partition('rollup_1h', 'rollup_1h_202610', '2026-10-01Z', '2026-11-01Z')")
    // One reading per UTC hour from 2026-10-23T20:00Z to 2026-10-27T00:00Z, value = the hour's index.
    await node.sql(
      `insert into rollup_1h (sensor_key, bucket, n, lo, hi, total, first_ts, first_value, last_ts, last_value, suspect, spike, rate_of_change, stuck, out_of_range)
       select $1, b, 1, i, i, i, b, i, b, i, 0, 0, 0, 0, 0
       from generate_series(0, 75) as i, lateral (select timestamptz '2026-10-23T20:00:00Z' + i * interval '1 hour' as b) x`,
      [key]
    )
    const from = Date.parse("2026-10-23T22:00:00Z")
    const to = Date.parse("2026-10-26T23:00:00Z")
    const r = await get(`/api/v1/sensors/plant-1/aggregates?interval=1d&tz=Europe/Berlin&from=${from}&to=${to}`)
    expect(r.status).toBe(200)
    const body = r.body as { tier: string; buckets: Array<Bucket> }
    expect(body.tier).toBe("1h")
    expect(body.buckets.map((b) => [new Date(b.start).toISOString(), (b.end - b.start) / 3_600_000, b.count])).toEqual([
      ["2026-10-23T22:00:00.000Z", 24, 24],
      ["2026-10-24T22:00:00.000Z", 25, 25],
      ["2026-10-25T23:00:00.000Z", 24, 24]
    ])
    // Kolkata is UTC+05:30: its hours need the 1 min tier, which does not reach back to October.
    const kolkata = await get(`/api/v1/sensors/plant-1/aggregates?interval=1h&tz=Asia/Kolkata&from=${base - 3_600_000}`)
    expect(kolkata.body).toMatchObject({ tier: "1m", buckets: [{ count: 5 }] })
    expect(kolkata.body).toMatchObject({ buckets: [{ start: Math.floor((base - 1_800_000) / 3_600_000) * 3_600_000 + 1_800_000 }] })
    const old = await get(`/api/v1/sensors/plant-1/aggregates?interval=1h&tz=Asia/Kolkata&from=${from}`)
    expect(old.status).toBe(400)
    expect((old.body as { message: string }).message).toMatch(/^from: .*offset is not a whole number of hours/)
  })

  it("feeds the Grafana panel: its SQL, with Grafana's macros expanded, charts the sensor's hourly mean from the rollups", async () => {
    const dashboard = JSON.parse(readFileSync(new URL("../../deploy/grafana/dashboards/flowmesh.json", import.meta.url), "utf8")) as {
      panels: Array<{ datasource: { type: string }; targets: Array<{ rawSql?: string }> }>
      templating: { list: Array<{ name: string; query: string }> }
    }
    const panel = dashboard.panels.find((p) => p.datasource.type === "grafana-postgresql-datasource")
    const rawSql = panel?.targets[0]?.rawSql ?? ""
    const hour = Math.floor(base / 3_600_000) * 3_600_000
    const expanded = rawSql
      .replaceAll("$sensor", "plant-1")
      .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 between to_timestamp(${(hour - 3_600_000) / 1000}) and to_timestamp(${(hour + 3_600_000) / 1000})`)
    const rows = await node.sql<{ time: Date; mean: number; min: number; max: number }>(expanded)
    expect(rows.map((r) => ({ time: new Date(r.time).getTime(), mean: r.mean, min: r.min, max: r.max }))).toEqual([{ time: hour, mean: 18 / 5, min: 1, max: 7 }])
    const variable = dashboard.templating.list.find((v) => v.name === "sensor")
    expect((await node.sql<{ id: string }>(variable?.query ?? "")).map((r) => r.id)).toContain("plant-1")
  })

  it("reports a period per sensor: totals, a totalizer's increase across a reset, suspect share, offline time and alerts, as JSON, CSV and HTML", async () => {
    const hour = Math.floor(base / 3_600_000) * 3_600_000
    const [{ key }] = (await node.sql<{ key: number }>("select key from sensors where id = 'plant-1'")) as [{ key: number }]
    expect(key).toBeGreaterThan(0)
    await node.sql(
      `insert into alerts (notifier, sensor, rule, kind, severity, status, message, opened_at, last_seen, resolved_at)
       values ('default', 'plant-1', 'offline', 'offline', 'warning', 'resolved', 'no reading', to_timestamp($1 / 1000.0), to_timestamp($1 / 1000.0), to_timestamp($2 / 1000.0))`,
      [hour + 10 * 60_000, hour + 40 * 60_000]
    )
    const meter = [100, 105, 112, 3, 10].map((value, i) => ({ sensor: "meter-1", ts: base + 300_000 + i * 60_000, value }))
    expect(await postJson(`${node.url}/api/v1/readings`, { readings: meter })).toMatchObject({ status: 202, body: { accepted: 5 } })
    await awaitMetric(node.url, "flowmesh_rollup_pending_marks", (n) => n === 0)
    await new Promise((r) => setTimeout(r, 200))
    const r = await get(`/api/v1/reports?period=custom&sensors=plant-1,meter-1&from=${hour}&to=${hour + 3_600_000}`)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({
      period: "custom",
      tier: "1h",
      sensors: [
        { sensor: "meter-1", count: 5, min: 3, max: 112, first: 100, last: 10, alertsOpened: 0, offlineSeconds: 0 },
        { sensor: "plant-1", count: 5, min: 1, max: 7, sum: 18, mean: 3.6, first: 1, last: 2, alertsOpened: 1, offlineSeconds: 1800 }
      ]
    })
    // At minute resolution the meter's rises are 5, 7 and (after the reset to 3) 7.
    const fine = await get(`/api/v1/reports?period=custom&sensors=meter-1&from=${base}&to=${base + 600_000}`)
    expect(fine.body).toMatchObject({ tier: "1m", sensors: [{ sensor: "meter-1", increase: 19 }] })
    const day = new Date(base).toISOString().slice(0, 10)
    const daily = await get(`/api/v1/reports?period=day&date=${day}&prefix=site-7/`)
    expect(daily.body).toMatchObject({ tier: "1d", from: Date.parse(`${day}T00:00:00Z`), sensors: [{ sensor: "site-7/a", count: 3 }, { sensor: "site-7/b", count: 2 }] })
    const csv = await fetch(`${node.url}/api/v1/reports?period=day&date=${day}&prefix=site-7/&format=csv`)
    expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="report_site-7__${day}.csv"`)
    expect((await csv.text()).split("\n").slice(0, 2)).toEqual([
      "sensor,count,min,max,mean,sum,first,last,increase,suspect_share,offline_seconds,alerts_opened",
      "site-7/a,3,10,30,20,60,10,30,20,0,0,0"
    ])
    const html = await fetch(`${node.url}/api/v1/reports?period=month&date=${day.slice(0, 7)}&tz=Europe/Berlin&sensors=plant-1&format=html`)
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(html.headers.get("content-security-policy")).toBe("default-src 'none'; style-src 'unsafe-inline'")
    const page = await html.text()
    expect(page).toContain('<th scope="row">plant-1</th>')
    expect(page).toContain("from the 1h rollups")
  })

  it("answers every bad parameter 400 naming it, and an unknown sensor 404", async () => {
    const from = base
    const cases: Array<[string, string]> = [
      [`/api/v1/sensors/plant-1/aggregates?interval=2h&from=${from}`, "interval"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1h`, "from"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1h&from=abc`, "from"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1h&from=${from}&to=${from}`, "from"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1h&from=${from}&tz=Mars/Olympus`, "tz"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1h&from=${from}&limit=0`, "limit"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1h&from=${from}&after=x`, "after"],
      [`/api/v1/sensors/plant-1/aggregates?interval=1m&from=${Date.now() - 40 * 86_400_000}`, "from"],
      [`/api/v1/aggregates?interval=1h&from=${from}`, "prefix"],
      [`/api/v1/aggregates?interval=1h&from=${from}&prefix=a&sensors=b`, "prefix"],
      [`/api/v1/aggregates?interval=1h&from=${from}&sensors=${Array.from({ length: 101 }, (_, i) => `s${i}`).join(",")}`, "sensors"],
      [`/api/v1/aggregates?interval=1h&from=${from}&sensors=bad%20id`, "sensors"],
      [`/api/v1/aggregates?interval=1h&from=${from}&prefix=site&after=nocursor`, "after"],
      [`/api/v1/reports?period=week&prefix=site`, "period"],
      [`/api/v1/reports?period=day&prefix=site`, "date"],
      [`/api/v1/reports?period=day&date=2026-13-01&prefix=site`, "date"],
      [`/api/v1/reports?period=month&date=2026-12-05&prefix=site`, "date"],
      [`/api/v1/reports?period=custom&prefix=site`, "from"],
      [`/api/v1/reports?period=custom&prefix=site&from=${base + 1}`, "from"],
      [`/api/v1/reports?period=day&date=2026-12-01&tz=Nowhere/Else&prefix=site`, "tz"],
      [`/api/v1/reports?period=day&date=2026-12-01&prefix=site&format=pdf`, "format"]
    ]
    for (const [path, param] of cases) {
      const r = await get(path)
      expect({ path, status: r.status }).toEqual({ path, status: 400 })
      expect((r.body as { message: string }).message, path).toContain(param)
    }
    const old = await get(`/api/v1/sensors/plant-1/aggregates?interval=1m&from=${Date.now() - 40 * 86_400_000}`)
    expect((old.body as { message: string }).message).toContain("ROLLUP_1M_RETENTION_DAYS")
    expect((await get(`/api/v1/sensors/nope/aggregates?interval=1h&from=${from}`)).status).toBe(404)
  })
})
