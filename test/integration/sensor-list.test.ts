/**
 * GET /api/v1/sensors as a dashboard reads it, on real PostgreSQL: each sensor's status (offline
 * while an offline alert is unresolved), last value and time and suspect share, from its snapshot;
 * `status=` filters before the page is cut, so keyset paging through a filter skips nothing; a bad
 * status names the parameter and the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

interface Summary {
  readonly id: string
  readonly status: string
  readonly lastSeen: number | null
  readonly lastValue: number | null
  readonly suspectShare: number | null
}

describe("sensor list", () => {
  let db: TestDatabase
  let node: RunningNode
  const t0 = Date.now() - 60_000

  const put = (id: string, body: unknown) =>
    fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(id)}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then((r) => r.status)
  const send = async (sensor: string, values: ReadonlyArray<number>) => {
    const r = await postJson(`${node.url}/api/v1/readings`, { readings: values.map((value, i) => ({ sensor, ts: t0 + i * 1000, value })) })
    expect(r.status).toBe(202)
  }
  const list = async (query: string) => {
    const r = await getJson(`${node.url}/api/v1/sensors?${query}`)
    expect(r.status).toBe(200)
    return r.body as { sensors: ReadonlyArray<Summary>; next: string | null }
  }

  beforeAll(async () => {
    db = await createTestDatabase("sensor_list")
    node = await startNode({ DATABASE_URL: db.url, SNAPSHOT_INTERVAL_MS: "100", ALERT_SWEEP_MS: "200" })
    expect(await put("list/fault", { hardMax: 100, faultInvalidCount: 3 })).toBe(200)
    expect(await put("list/degraded", { softMax: 10 })).toBe(200)
    expect(await put("list/offline", { rules: [{ id: "silent", kind: "offline", afterSeconds: 1 }] })).toBe(200)
    expect(await put("list/new", {})).toBe(200)
    await send("list/online", [1, 2, 3.5])
    await send("list/fault", [5, 500, 600, 700])
    // 12 readings, 6 above softMax: a suspect share of 0.5 > degradedRatio 0.3.
    await send("list/degraded", [1, 2, 3, 4, 5, 6, 20, 21, 22, 23, 24, 25])
    await send("list/offline", [7])
    // Snapshots are swept every 100 ms, the offline rule fires after 1 s of silence.
    await until("snapshots and the offline alert", async () => {
      const { sensors } = await list("prefix=list%2F")
      const by = new Map(sensors.map((s) => [s.id, s.status]))
      return by.get("list/online") === "online" && by.get("list/fault") === "fault" && by.get("list/degraded") === "degraded" && by.get("list/offline") === "offline"
        ? true
        : undefined
    })
  }, 60_000)
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("shows each sensor's status, last value and time and suspect share", async () => {
    const { sensors, next } = await list("prefix=list%2F")
    expect(next).toBeNull()
    expect(sensors.map((s) => [s.id, s.status])).toEqual([
      ["list/degraded", "degraded"],
      ["list/fault", "fault"],
      ["list/new", "unknown"],
      ["list/offline", "offline"],
      ["list/online", "online"]
    ])
    const by = new Map(sensors.map((s) => [s.id, s]))
    expect(by.get("list/online")).toMatchObject({ lastValue: 3.5, lastSeen: t0 + 2000, suspectShare: 0 })
    // The invalid readings are not accepted: the last value is the last good one.
    expect(by.get("list/fault")).toMatchObject({ lastValue: 5, lastSeen: t0, suspectShare: 0 })
    expect(by.get("list/degraded")).toMatchObject({ lastValue: 25, suspectShare: 0.5 })
    expect(by.get("list/offline")).toMatchObject({ lastValue: 7, lastSeen: t0 })
    expect(by.get("list/new")).toMatchObject({ lastSeen: null, lastValue: null, suspectShare: null })
  })

  it("filters by one or more statuses before the page is cut, so paging skips nothing", async () => {
    expect((await list("prefix=list%2F&status=fault")).sensors.map((s) => s.id)).toEqual(["list/fault"])
    expect((await list("prefix=list%2F&status=offline,unknown")).sensors.map((s) => s.id)).toEqual(["list/new", "list/offline"])
    // One a page: the first page's `next` is list/degraded; the matching list/online is four rows on.
    const first = await list("prefix=list%2F&status=degraded,online&limit=1")
    expect(first.sensors.map((s) => s.id)).toEqual(["list/degraded"])
    expect(first.next).toBe("list/degraded")
    const second = await list(`prefix=list%2F&status=degraded,online&limit=1&after=${encodeURIComponent(first.next ?? "")}`)
    expect(second.sensors.map((s) => s.id)).toEqual(["list/online"])
  })

  it("is back online once the silent sensor reports again", async () => {
    const r = await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "list/offline", value: 8 }] })
    expect(r.status).toBe(202)
    await until("offline cleared", async () => ((await list("prefix=list%2F&status=offline")).sensors.length === 0 ? true : undefined))
    expect((await list("prefix=list%2Foffline")).sensors[0]).toMatchObject({ status: "online", lastValue: 8 })
  })

  it.each([
    ["status=bogus", /status: must be a comma-separated list of unknown, online, degraded, fault, offline; "bogus" is none of them/],
    ["status=", /status: .*"" is none of them/],
    ["status=online,,fault", /status: .*"" is none of them/]
  ])("refuses %s with the parameter and the reason", async (query, message) => {
    const r = await getJson(`${node.url}/api/v1/sensors?${query}`)
    expect(r.status).toBe(400)
    expect((r.body as { message: string }).message).toMatch(message)
  })

  it("refuses a second status parameter instead of reading one of them", async () => {
    const r = await getJson(`${node.url}/api/v1/sensors?status=online&status=fault`)
    expect(r.status).toBe(400)
    expect(JSON.stringify(r.body)).toMatch(/status/)
  })
})
