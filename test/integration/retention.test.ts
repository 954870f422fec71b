/**
 * RETENTION_DAYS end to end: `readings` is partitioned by day, and a node maintaining its partitions
 * (at start-up, then hourly) drops whole the days older than the retention, with their readings;
 * the days within it stay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue } from "../support/metrics.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { openSocket, wsUrl } from "../support/ws-client.js"

const DAY_MS = 86_400_000
const partitionOf = (ms: number) => `readings_${new Date(ms).toISOString().slice(0, 10).replaceAll("-", "")}`

describe("readings retention", () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("retention")
  })
  afterAll(async () => {
    await db?.drop()
  })

  it("drops the daily partitions older than RETENTION_DAYS, with their readings, and keeps the recent ones", async () => {
    const sensor = "retention-1"
    const old = Date.now() - 30 * DAY_MS
    const recent = Date.now() - 2 * DAY_MS
    const history = async (node: RunningNode) =>
      ((await getJson(`${node.url}/api/v1/sensors/${sensor}/readings?from=0`)).body as { readings: Array<{ ts: number }> }).readings.map((r) => r.ts)
    const partitions = (node: RunningNode) =>
      node.sql<{ name: string }>(
        "select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'readings'"
      ).then((rows) => rows.map((r) => r.name))

    // Kept 60 days: the reading of 30 days ago lands in its own day's partition.
    const keeping = await startNode({ DATABASE_URL: db.url, RETENTION_DAYS: "60" })
    try {
      const answer = await postJson(`${keeping.url}/api/v1/readings`, { readings: [{ sensor, ts: old, value: 1 }, { sensor, ts: recent, value: 2 }] })
      expect(answer).toMatchObject({ status: 202, body: { accepted: 2, durable: true } })
      expect(await history(keeping)).toEqual([recent, old])
      const placed = await keeping.sql<{ partition: string }>("select tableoid::regclass::text as partition from readings order by ts")
      expect(placed.map((r) => r.partition)).toEqual([partitionOf(old), partitionOf(recent)])
    } finally {
      await keeping.stop()
    }

    // Kept 7 days: the node's start-up maintenance drops every older day.
    const node = await startNode({ DATABASE_URL: db.url, RETENTION_DAYS: "7" })
    try {
      const left = await partitions(node)
      expect(left).not.toContain(partitionOf(old))
      expect(left).toContain(partitionOf(recent))
      expect(left.filter((name) => /^readings_\d{8}$/.test(name) && name < partitionOf(Date.now() - 7 * DAY_MS))).toEqual([])
      expect(await history(node)).toEqual([recent])
    } finally {
      await node.stop()
    }
  })

  it("answers a reading older than the oldest retained day too_old, over HTTP and WebSocket, stores none in the default partition, and counts it", async () => {
    const node = await startNode({ DATABASE_URL: db.url, RETENTION_DAYS: "7" })
    try {
      const sensor = "retention-old"
      const tooOld = Date.now() - 9 * DAY_MS
      const recent = Date.now() - 60_000
      const before = await counterValue(node.url, 'flowmesh_readings_total{transport="http",outcome="too_old"}')
      const answer = await postJson(`${node.url}/api/v1/readings`, {
        readings: [{ sensor, ts: tooOld, value: 1 }, { sensor, ts: recent, value: 2 }, { sensor: "retention-old-2", ts: tooOld, value: 3 }]
      })
      expect(answer).toMatchObject({
        status: 202,
        body: {
          accepted: 1,
          durable: true,
          rejected: [
            { index: 0, sensor, reason: "too_old" },
            { index: 2, sensor: "retention-old-2", reason: "too_old" }
          ]
        }
      })
      expect(await counterValue(node.url, 'flowmesh_readings_total{transport="http",outcome="too_old"}')).toBe(before + 2)

      const device = await openSocket(wsUrl(node.url, "/ws/devices"))
      try {
        device.send({ type: "readings", seq: 1, readings: [{ sensor, ts: tooOld + 1, value: 4 }, { sensor, ts: recent + 1, value: 5 }] })
        const ack = await device.next((f) => f.type === "ack" && f.seq === 1)
        expect(ack).toMatchObject({ accepted: 1, rejected: [{ index: 0, sensor, reason: "too_old" }] })
      } finally {
        await device.close()
      }
      expect((await node.sql<{ n: number }>("select count(*)::int as n from readings_default"))[0]?.n).toBe(0)
      const state = (await getJson(`${node.url}/api/v1/sensors/${sensor}`)).body as { state: { counters: { accepted: number; rejected: Record<string, number> } } }
      // The sensor never saw them: its counters hold only what it decided.
      expect(state.state.counters.accepted).toBe(2)
      expect(Object.values(state.state.counters.rejected).reduce((a, b) => a + b, 0)).toBe(0)
    } finally {
      await node.stop()
    }
  })
})
