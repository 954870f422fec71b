/**
 * A reading acknowledged as durable is in PostgreSQL even if the node is killed (SIGKILL) right
 * after, while other requests are still in flight; and after a restart (default snapshot interval,
 * so the sensors' snapshots lag their readings) a client resending everything it sent is told
 * `duplicate` for every reading that was stored, never `out_of_order`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { spawnNode } from "../support/node-process.js"

describe("durability under SIGKILL", () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("kill")
  })
  afterAll(async () => {
    await db?.drop()
  })

  it("keeps every durably acknowledged reading when the node is killed mid-stream", async () => {
    const node = await spawnNode({ DATABASE_URL: db.url })
    const acked: Array<{ sensor: string; ts: number }> = []
    const requests: Array<Array<{ sensor: string; ts: number; value: number }>> = []
    const t0 = Date.now() - 3_600_000
    let stop = false
    let sent = 0
    const client = async (c: number) => {
      for (let r = 0; r < 500 && !stop; r++) {
        const readings = Array.from({ length: 50 }, (_, j) => ({ sensor: `kill-${c}-${j % 10}`, ts: t0 + r * 10 + Math.floor(j / 10), value: j }))
        sent++
        requests.push(readings)
        const answer = await fetch(`${node.url}/api/v1/readings`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ readings })
        }).then(
          async (res) => (res.status === 202 ? ((await res.json()) as { accepted: number; durable: boolean; rejected: Array<{ index: number }> }) : null),
          () => null
        )
        if (answer === null) return
        expect(answer.durable).toBe(true)
        const rejected = new Set(answer.rejected.map((x) => x.index))
        readings.forEach((x, i) => {
          if (!rejected.has(i)) acked.push({ sensor: x.sensor, ts: x.ts })
        })
      }
    }
    const clients = Array.from({ length: 8 }, (_, c) => client(c))
    while (acked.length < 2_000) await new Promise((resolve) => setTimeout(resolve, 5))
    await node.kill("SIGKILL")
    stop = true
    await Promise.all(clients)
    expect(sent).toBeGreaterThan(40)
    const rows = await query<{ id: string; ts: number }>(
      db.url,
      "select s.id, (extract(epoch from r.ts) * 1000)::float8 as ts from readings r join sensors s on s.key = r.sensor_key"
    )
    const stored = new Set(rows.map((r) => `${r.id}@${r.ts}`))
    const missing = acked.filter((a) => !stored.has(`${a.sensor}@${a.ts}`))
    expect(missing).toEqual([])
    expect(rows.length).toBeGreaterThanOrEqual(acked.length)

    // Restarted, the client resends every request it sent, in its order.
    const again = await spawnNode({ DATABASE_URL: db.url, LOG_LEVEL: "info" })
    try {
      const ackedKeys = new Set(acked.map((a) => `${a.sensor}@${a.ts}`))
      const reasons: Record<string, number> = {}
      const answeredForAcked: Record<string, number> = {}
      for (const readings of requests) {
        const res = await fetch(`${again.url}/api/v1/readings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ readings }) })
        expect(res.status).toBe(202)
        const body = (await res.json()) as { rejected: Array<{ index: number; reason: string }> }
        const rejected = new Map(body.rejected.map((x) => [x.index, x.reason]))
        readings.forEach((x, i) => {
          const reason = rejected.get(i) ?? "accepted"
          reasons[reason] = (reasons[reason] ?? 0) + 1
          if (ackedKeys.has(`${x.sensor}@${x.ts}`)) answeredForAcked[reason] = (answeredForAcked[reason] ?? 0) + 1
        })
      }
      expect(answeredForAcked).toEqual({ duplicate: acked.length })
      // The path under test ran: snapshots lagged the readings, and sensors replayed what PostgreSQL had beyond them.
      expect(again.output()).toContain("replayed readings stored after the snapshot")
      expect(Object.keys(reasons).filter((r) => r !== "duplicate" && r !== "accepted")).toEqual([])
      // Everything sent is now stored, each reading once.
      const total = await query<{ n: string }>(db.url, "select count(*)::text as n from readings")
      expect(Number(total[0]?.n)).toBe(requests.length * 50)
    } finally {
      await again.kill("SIGTERM")
    }
  })
})
