/**
 * Overload and database outage answer 503 with Retry-After, never a hang and never a silent drop;
 * readings queued during an outage are written once PostgreSQL is back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { postJson, type RunningNode, startNode } from "../support/node-harness.js"

describe("overload and outage", () => {
  let node: RunningNode
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("overload")
    node = await startNode({ DATABASE_URL: db.url, WRITER_QUEUE_ROWS: "100", ACK_TIMEOUT_MS: "1000", WRITER_RETRY_MAX_MS: "200" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  const ingest = (sensor: string, n: number, t0: number) =>
    postJson(`${node.url}/api/v1/readings`, {
      readings: Array.from({ length: n }, (_, i) => ({ sensor, ts: t0 + i, value: i }))
    })

  it("answers 503 with Retry-After when the writer has no room, and keeps nothing of that batch", async () => {
    const t0 = Date.now() - 60_000
    const answer = await ingest("big", 150, t0)
    expect(answer.status).toBe(503)
    expect(answer.headers.get("retry-after")).toBe("1")
    expect(answer.body).toMatchObject({ error: "unavailable" })
    const retry = await ingest("big", 80, t0)
    expect(retry.status).toBe(202)
    expect(retry.body).toMatchObject({ accepted: 80, rejected: [] })
  })

  it("answers 503 while PostgreSQL is unreachable, then writes the queued readings when it is back", async () => {
    const t0 = Date.now() - 30_000
    expect((await ingest("outage", 1, t0 - 1000)).status).toBe(202)
    await query(db.admin, `alter database ${db.name} allow_connections false`)
    await query(db.admin, `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, [db.name])
    try {
      const started = Date.now()
      const answer = await ingest("outage", 10, t0)
      expect(answer.status).toBe(503)
      expect(answer.headers.get("retry-after")).toBe("1")
      expect((answer.body as { message: string }).message).toMatch(/not committed within 1000 ms/)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      await query(db.admin, `alter database ${db.name} allow_connections true`)
    }
    const deadline = Date.now() + 20_000
    let rows = 0
    while (Date.now() < deadline) {
      const r = await query<{ n: string }>(db.url, "select count(*) as n from readings r join sensors s on s.key = r.sensor_key where s.id = 'outage'")
      rows = Number(r[0]?.n)
      if (rows === 11) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(rows).toBe(11)
    const after = await ingest("outage", 5, t0 + 100)
    expect(after.status).toBe(202)
    expect(after.body).toMatchObject({ accepted: 5, durable: true })
  })
})
