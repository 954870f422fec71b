/**
 * The ingest gateway's cluster path, exercised on one node: INGEST_FORCE_REMOTE sends every batch
 * through a serialized cluster message to its shard's host, as batches for another node's shards
 * go. The answers, the order of each sensor's readings (WebSocket pipelining, many sensors per
 * request) and the reads must be those of the in-process path.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue } from "../support/metrics.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { openSocket, wsUrl } from "../support/ws-client.js"

interface Answer {
  readonly accepted: number
  readonly durable: boolean
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly reason: string }>
}

describe("the gateway's cluster path (INGEST_FORCE_REMOTE)", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("remote_path")
    node = await startNode({ DATABASE_URL: db.url, INGEST_FORCE_REMOTE: "true", CLUSTER_SIMULATE_SERIALIZATION: "true", COALESCE_WINDOW_MS: "0" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("answers a gateway's 100 sensors per request through the cluster, in one message per node once the replies told where shards are, and a resend as duplicates", async () => {
    const localBefore = await counterValue(node.url, "flowmesh_ingest_local_batches_total")
    const messagesBefore = await counterValue(node.url, 'flowmesh_ingest_cluster_messages_total{kind="batches"}')
    const t0 = Date.now() - 60_000
    const bodies = Array.from({ length: 8 }, (_, r) => ({
      readings: Array.from({ length: 100 }, (_, s) => ({ sensor: `rp-${s}`, ts: t0 + r * 1000, value: s + r }))
    }))
    // Requests one after the other: each sensor's readings arrive in ts order.
    let afterFirst = 0
    for (const body of bodies) {
      const a = await postJson(`${node.url}/api/v1/readings`, body)
      expect(a.status).toBe(202)
      expect(a.body).toMatchObject({ accepted: 100, durable: true, rejected: [] })
      if (afterFirst === 0) afterFirst = await counterValue(node.url, 'flowmesh_ingest_cluster_messages_total{kind="batches"}')
    }
    const resent = await postJson(`${node.url}/api/v1/readings`, bodies[3])
    expect((resent.body as Answer).rejected.map((r) => r.reason)).toEqual(Array.from({ length: 100 }, () => "duplicate"))
    expect(await counterValue(node.url, "flowmesh_ingest_local_batches_total")).toBe(localBefore)
    const messages = (await counterValue(node.url, 'flowmesh_ingest_cluster_messages_total{kind="batches"}')) - messagesBefore
    // 9 requests x 100 sensors: never a message per sensor. The first goes out per shard (nothing
    // is known yet); its replies name the node and the shards it holds, so every later request
    // (resend included) is one message to this node.
    expect(messages).toBeGreaterThan(0)
    expect(messages).toBeLessThan(9 * 100)
    const later = (await counterValue(node.url, 'flowmesh_ingest_cluster_messages_total{kind="batches"}')) - afterFirst
    expect(later).toBeLessThanOrEqual(8)
    const stored = await node.sql<{ n: number }>("select count(*)::int as n from readings")
    expect(stored[0]?.n).toBe(800)
  })

  it("keeps each sensor's order for a device pipelining frames, and serves reads and config through the host", async () => {
    const device = await openSocket(wsUrl(node.url, "/ws/devices"))
    const t0 = Date.now() - 30_000
    for (let seq = 1; seq <= 60; seq++) {
      device.send({ type: "readings", seq, readings: [{ sensor: "rp-order-a", ts: t0 + seq, value: seq }, { sensor: `rp-order-${seq % 3}`, ts: t0 + seq, value: seq }] })
    }
    const acks = await device.collect((f) => f.type === "ack" || f.type === "error", 60)
    expect(acks.filter((f) => f.type !== "ack")).toEqual([])
    // Any reading decided out of arrival order would be answered out_of_order.
    expect(acks.flatMap((f) => f.rejected as Array<unknown>)).toEqual([])
    await device.close()
    const view = await getJson(`${node.url}/api/v1/sensors/rp-order-a`)
    expect(view.body).toMatchObject({ state: { lastTs: t0 + 60, counters: { accepted: 60 } } })
    const put = await fetch(`${node.url}/api/v1/sensors/rp-order-a`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ hardMax: 10 }) })
    expect(put.status).toBe(200)
    const after = await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "rp-order-a", ts: t0 + 100, value: 50 }] })
    expect(after.body).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: "invalid" }] })
    expect((await fetch(`${node.url}/api/v1/sensors/rp-order-a`, { method: "DELETE" })).status).toBe(204)
  })
})

describe("path switches at start-up", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("path_switch")
    node = await startNode({ DATABASE_URL: db.url, COALESCE_WINDOW_MS: "0" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("keeps a sensor's order while its shard's host opens (cluster path, then in-process)", async () => {
    const device = await openSocket(wsUrl(node.url, "/ws/devices"))
    const t0 = Date.now() - 30_000
    // In bursts over time, so that frames keep arriving while the first cluster messages are in
    // flight and the hosts open: those queue behind them and then go in-process, in order.
    for (let seq = 1; seq <= 200; seq++) {
      device.send({ type: "readings", seq, readings: [{ sensor: `sw-${seq % 7}`, ts: t0 + seq, value: seq }] })
      if (seq % 10 === 0) await new Promise((r) => setTimeout(r, 3))
    }
    const acks = await device.collect((f) => f.type === "ack" || f.type === "error", 200)
    expect(acks.filter((f) => f.type !== "ack")).toEqual([])
    expect(acks.flatMap((f) => f.rejected as Array<unknown>)).toEqual([])
    await device.close()
    expect(await counterValue(node.url, "flowmesh_ingest_local_batches_total")).toBeGreaterThan(0)
  })
})
