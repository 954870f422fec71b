/**
 * The gateway's bound on readings awaiting their actors: past INGEST_MAX_PENDING_READINGS,
 * ingest is refused at once with 503 + Retry-After (HTTP) or an `unavailable` frame with
 * retryAfterMs (WebSocket) naming the setting; what was accepted is stored; the bound frees itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, lockTable, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { metricValue } from "../support/metrics.js"
import { postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { openSocket, wsUrl } from "../support/ws-client.js"

describe("INGEST_MAX_PENDING_READINGS", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("pending_messages")
    node = await startNode({ DATABASE_URL: db.url, INGEST_MAX_PENDING_READINGS: "4", COALESCE_WINDOW_MS: "0" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("refuses HTTP ingest past the bound with 503 and Retry-After, keeps what it accepted, and frees the bound", async () => {
    const t0 = Date.now() - 60_000
    const answered: Array<number> = []
    // The first request's three messages stay unanswered until their commit, held by the lock; every
    // other request would take three more, past the bound of 4, and is refused at once.
    const overloadedBefore = await metricValue(node.url, 'flowmesh_readings_total{transport="http",outcome="overloaded"}')
    const writes = await lockTable(db.url, "readings")
    const sent = Array.from({ length: 40 }, (_, i) =>
      postJson(`${node.url}/api/v1/readings`, {
        readings: [0, 1, 2].map((k) => ({ sensor: `pm-${i}-${k}`, ts: t0 + i, value: k }))
      }).then((a) => {
        answered.push(i)
        return a
      })
    )
    try {
      await until("the refusals", async () => (answered.length >= 39 ? true : undefined))
      expect(await metricValue(node.url, "flowmesh_ingest_pending_readings")).toBe(3)
    } finally {
      await writes.release()
    }
    const answers = await Promise.all(sent)
    const refused = answers.filter((a) => a.status === 503)
    const accepted = answers.filter((a) => a.status === 202)
    expect(refused).toHaveLength(39)
    expect(accepted).toHaveLength(1)
    expect(accepted[0]?.body).toMatchObject({ accepted: 3, durable: true })
    expect(refused[0]?.headers.get("retry-after")).toBe("1")
    expect(JSON.stringify(refused[0]?.body)).toContain("INGEST_MAX_PENDING_READINGS")
    // Every refused reading is counted, as a WebSocket frame's are: 39 requests of 3.
    expect(await metricValue(node.url, 'flowmesh_readings_total{transport="http",outcome="overloaded"}')).toBe(overloadedBefore + 39 * 3)
    const stored = await node.sql<{ n: number }>("select count(*)::int as n from readings")
    expect(stored[0]?.n).toBe(3)
    expect(await metricValue(node.url, "flowmesh_ingest_pending_readings")).toBe(0)
  })

  it("answers device frames past the bound with an unavailable error and a retry time", async () => {
    const device = await openSocket(wsUrl(node.url, "/ws/devices"))
    const t0 = Date.now() - 30_000
    for (let seq = 1; seq <= 40; seq++) device.send({ type: "readings", seq, readings: [{ sensor: `pmw-${seq}`, ts: t0 + seq, value: seq }] })
    const answers = await device.collect((f) => f.type === "ack" || f.type === "error", 40)
    const errors = answers.filter((f) => f.type === "error")
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]).toMatchObject({ code: "unavailable" })
    expect(typeof errors[0]?.retryAfterMs).toBe("number")
    expect(String(errors[0]?.message)).toContain("INGEST_MAX_PENDING_READINGS")
    expect(new Set(answers.map((f) => f.seq)).size).toBe(40)
    await device.close()
  })
})
