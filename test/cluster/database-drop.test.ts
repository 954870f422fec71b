/**
 * PostgreSQL drops every connection of a two-node cluster (what a database restart or failover
 * looks like from the nodes): the writers' pools, the shard-lock sessions and their advisory
 * locks all go at once. The nodes must come back by themselves: every sensor answers again, and
 * every reading acknowledged as durable is stored exactly once.
 */
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_URL, createTestDatabase, type TestDatabase } from "../support/databases.js"
import { metricValue } from "../support/metrics.js"
import { freePort, type NodeProcess, spawnNode } from "../support/node-process.js"

const SENSORS = 200

const sql = async <R extends pg.QueryResultRow>(url: string, text: string, params: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, [...params])).rows
  } finally {
    await client.end()
  }
}

/** One reading per sensor at `ts`, through the edges in turn, retrying 503s and dead connections until `deadline`. */
const round = async (edges: ReadonlyArray<string>, ts: number, deadline: number) => {
  let accepted = 0
  await Promise.all(
    Array.from({ length: SENSORS / 10 }, async (_, g) => {
      const body = JSON.stringify({ readings: Array.from({ length: 10 }, (_, j) => ({ sensor: `db-${g * 10 + j}`, ts, value: 1 })) })
      for (let attempt = 0; ; attempt++) {
        if (Date.now() > deadline) throw new Error(`group ${g} not accepted before the deadline`)
        const r = await fetch(`${edges[(g + attempt) % edges.length]}/api/v1/readings?ack=durable`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body
        }).catch(() => null)
        if (r?.status === 202) {
          accepted += ((await r.json()) as { accepted: number }).accepted
          return
        }
        await r?.text()
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    })
  )
  return accepted
}

describe("a database that drops every connection", () => {
  let db: TestDatabase
  const nodes: Array<NodeProcess> = []

  beforeAll(async () => {
    db = await createTestDatabase("dbdrop")
    const ports = await Promise.all([freePort(), freePort()])
    nodes.push(
      ...(await Promise.all(
        ports.map((p) => spawnNode({ DATABASE_URL: db.url, RUNNER_HOST: "127.0.0.1", RUNNER_PORT: String(p), SNAPSHOT_INTERVAL_MS: "0" }, 60_000))
      ))
    )
  })
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill("SIGTERM")))
    await db?.drop()
  })

  it("both nodes recover by themselves: sensors answer again and nothing acknowledged is lost", async () => {
    const edges = nodes.map((n) => n.url)
    const t0 = Date.now() - 60_000
    let acked = await round(edges, t0, Date.now() + 30_000)
    const terminated = await sql<{ n: string }>(
      ADMIN_URL,
      "select count(pg_terminate_backend(pid))::text as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [db.name]
    )
    expect(Number(terminated[0]?.n)).toBeGreaterThan(2)
    const droppedAt = Date.now()
    acked += await round(edges, t0 + 1000, droppedAt + 30_000)
    const recoveredMs = Date.now() - droppedAt
    acked += await round(edges, t0 + 2000, Date.now() + 30_000)
    const stored = await sql<{ n: string }>(db.url, "select count(*)::text as n from readings r join sensors s on s.key = r.sensor_key where s.id like 'db-%'")
    expect(Number(stored[0]?.n)).toBe(3 * SENSORS)
    expect(acked).toBeLessThanOrEqual(3 * SENSORS)
    for (const n of nodes) {
      const ready = (await (await fetch(`${n.url}/ready`)).json()) as { checks: { database: boolean; cluster: boolean } }
      expect(ready.checks).toMatchObject({ database: true, cluster: true })
    }
    const resident = await Promise.all(nodes.map((n) => metricValue(n.url, "flowmesh_active_sensors")))
    expect(resident.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(SENSORS)
    console.log(`database drop: every sensor answered again ${recoveredMs} ms after all connections were terminated`)
  })
})
