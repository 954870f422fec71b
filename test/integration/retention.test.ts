/**
 * RETENTION_DAYS end to end: `readings` is partitioned by day, and a node maintaining its partitions
 * (at start-up, then hourly) drops whole the days older than the retention, with their readings;
 * the days within it stay.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

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
})
