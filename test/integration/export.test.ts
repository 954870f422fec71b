/**
 * Streamed exports on a real node: a 500,000-row history as CSV and NDJSON with a file name, read
 * line by line; a client that stops reading stops the node's reading too (its memory stays flat
 * while the client pauses); a client that goes away frees the cursor and the export slot; a second
 * export past EXPORT_MAX_CONCURRENT is answered 503 with Retry-After; aggregates export the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { awaitMetric } from "../support/metrics.js"
import { postJson, type RunningNode, startNode } from "../support/node-harness.js"

const ROWS = 500_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Reads a response body to the end, counting lines and keeping the first two and the last. */
const readLines = async (response: Response) => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let lines = 0
  let head: Array<string> = []
  let last = ""
  let rest = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    const parts = (rest + decoder.decode(value, { stream: true })).split("\n")
    rest = parts.pop() ?? ""
    if (head.length < 2) head = [...head, ...parts].slice(0, 2)
    lines += parts.length
    if (parts.length > 0) last = parts[parts.length - 1]!
  }
  return { lines, head, last }
}

describe("streamed export", () => {
  let db: TestDatabase
  let node: RunningNode
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000

  beforeAll(async () => {
    db = await createTestDatabase("export")
    node = await startNode({ DATABASE_URL: db.url, EXPORT_MAX_CONCURRENT: "1", ROLLUP_INTERVAL_MS: "50" })
    const [row] = await node.sql<{ key: number }>("insert into sensors (id) values ('site-1/big') returning key")
    await node.sql(
      `insert into readings (sensor_key, ts, value, quality)
       select $1, to_timestamp(($2::float8 + i * 10) / 1000.0), i, case when i % 1000 = 0 then 1 else 0 end from generate_series(0, ${ROWS - 1}) as i`,
      [row!.key, t0]
    )
  }, 60_000)
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  const exportUrl = (format: string) => `${node.url}/api/v1/sensors/site-1%2Fbig/readings?from=${t0}&format=${format}`

  it("streams every row of a range as CSV, oldest first, with a file name", async () => {
    const response = await fetch(exportUrl("csv"))
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8")
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="site-1_big_readings_${t0}_now.csv"`)
    const { lines, head, last } = await readLines(response)
    expect(lines).toBe(ROWS + 1)
    expect(head).toEqual(["sensor,ts,time,value,quality,reasons", `site-1/big,${t0},${new Date(t0).toISOString()},0,suspect,spike`])
    expect(last).toBe(`site-1/big,${t0 + (ROWS - 1) * 10},${new Date(t0 + (ROWS - 1) * 10).toISOString()},${ROWS - 1},good,`)
  }, 60_000)

  it("answers NDJSON for Accept: application/x-ndjson", async () => {
    const response = await fetch(`${node.url}/api/v1/sensors/site-1%2Fbig/readings?from=${t0}&to=${t0 + 1_000}`, { headers: { accept: "application/x-ndjson" } })
    expect(response.headers.get("content-type")).toBe("application/x-ndjson")
    const lines = (await response.text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(100)
    expect(lines[1]).toEqual({ sensor: "site-1/big", ts: t0 + 10, time: new Date(t0 + 10).toISOString(), value: 1, quality: "good", reasons: "" })
  })

  it("reads no further than a paused client, frees the cursor when the client leaves, and refuses a second export while one runs", async () => {
    const abort = new AbortController()
    const response = await fetch(exportUrl("csv"), { signal: abort.signal })
    const reader = response.body!.getReader()
    await reader.read()
    // The client stops reading for 5 s, longer than the whole export takes at full speed (~3 s): a
    // node that did not wait for the socket would have read every row into its buffers by then
    // (~30 MB, more than the bound below) and ended the export, freeing its slot.
    const before = process.memoryUsage()
    let peak = 0
    for (let i = 0; i < 50; i++) {
      await sleep(100)
      const m = process.memoryUsage()
      peak = Math.max(peak, m.heapUsed + m.arrayBuffers - (before.heapUsed + before.arrayBuffers))
    }
    expect(peak).toBeLessThan(24 * 1024 * 1024)
    const busy = await fetch(exportUrl("ndjson"))
    expect(busy.status).toBe(503)
    expect(busy.headers.get("retry-after")).toMatch(/^\d+$/)
    expect(busy.headers.get("x-content-type-options")).toBe("nosniff")
    expect(busy.headers.get("retry-after")).toMatch(/^\d+$/)
    expect(busy.headers.get("x-content-type-options")).toBe("nosniff")
    expect(((await busy.json()) as { message: string }).message).toContain("EXPORT_MAX_CONCURRENT")
    abort.abort()
    const running = () =>
      node.sql<{ n: number }>("select count(*)::int as n from pg_stat_activity where datname = current_database() and query like '%order by r.ts%' and state <> 'idle' and pid <> pg_backend_pid()")
    for (let i = 0; i < 50 && (await running())[0]!.n > 0; i++) await sleep(100)
    expect((await running())[0]!.n).toBe(0)
    const again = await fetch(`${node.url}/api/v1/sensors/site-1%2Fbig/readings?from=${t0}&to=${t0 + 100}&format=csv`)
    expect(again.status).toBe(200)
    expect((await again.text()).trim().split("\n")).toHaveLength(11)
  }, 30_000)

  it("exports aggregates as CSV, one sensor or many", async () => {
    const at = Math.floor(Date.now() / 60_000) * 60_000 - 300_000
    const readings = [0, 1, 2].flatMap((m) => [1, 2].map((v) => ({ sensor: `site-1/agg-${v}`, ts: at + m * 60_000, value: m * 10 + v })))
    expect(await postJson(`${node.url}/api/v1/readings`, { readings })).toMatchObject({ status: 202, body: { accepted: 6 } })
    await awaitMetric(node.url, "flowmesh_rollup_marks_total", (n) => n >= 1)
    await awaitMetric(node.url, "flowmesh_rollup_pending_marks", (n) => n === 0)
    const one = await fetch(`${node.url}/api/v1/sensors/site-1%2Fagg-1/aggregates?interval=1m&from=${at}&format=csv`)
    expect(one.headers.get("content-disposition")).toMatch(new RegExp(`^attachment; filename="site-1_agg-1_1m_${at}_\\d+\\.csv"$`))
    const lines = (await one.text()).trim().split("\n")
    expect(lines[0]).toBe("sensor,start,end,start_time,count,min,max,sum,mean,first_ts,first_value,last_ts,last_value,suspect,spike,rate_of_change,stuck,out_of_range")
    expect(lines.slice(1)).toEqual([0, 1, 2].map((m) => {
      const start = at + m * 60_000
      const v = m * 10 + 1
      return `site-1/agg-1,${start},${start + 60_000},${new Date(start).toISOString()},1,${v},${v},${v},${v},${start},${v},${start},${v},0,0,0,0,0`
    }))
    const many = await fetch(`${node.url}/api/v1/aggregates?prefix=site-1%2Fagg-&interval=1h&from=${at - 3_600_000}&format=ndjson`)
    const rows = (await many.text()).trim().split("\n").map((l) => JSON.parse(l) as { sensor: string; count: number })
    expect(rows.map((r) => r.sensor)).toEqual(rows.length === 2 ? ["site-1/agg-1", "site-1/agg-2"] : ["site-1/agg-1", "site-1/agg-1", "site-1/agg-2", "site-1/agg-2"])
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(6)
  })
})
