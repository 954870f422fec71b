/**
 * Live feeds across two real node processes sharing a real Redis: a dashboard on node B sees
 * readings ingested on node A; one Redis subscription per sensor per node however many dashboards
 * watch it; Redis going away degrades only the cross-node feed (ingestion stays durable, local
 * feeds go on) and everything recovers by itself when Redis is back.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { metricValue } from "../support/metrics.js"
import { postJson } from "../support/node-harness.js"
import { type NodeProcess, spawnNode } from "../support/node-process.js"
import { type PrivateRedis, startPrivateRedis } from "../support/redis-server.js"
import { type Frame, openSocket, type TestSocket, wsUrl } from "../support/ws-client.js"

const valuesOf = (frames: ReadonlyArray<Frame>, sensor: string): Array<number> =>
  frames.flatMap((f) =>
    f.type === "readings"
      ? (f.sensors as Array<{ sensor: string; values: Array<number> }>).filter((s) => s.sensor === sensor).flatMap((s) => s.values)
      : []
  )

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const ingest = async (node: NodeProcess, sensor: string, value: number, ts: number) => {
  const r = await postJson(`${node.url}/api/v1/readings?ack=durable`, { readings: [{ sensor, ts, value }] })
  expect(r).toMatchObject({ status: 202, body: { accepted: 1, durable: true } })
}

describe("live feed across nodes through Redis", () => {
  let redis: PrivateRedis
  let probe: Redis
  const dbs: Array<TestDatabase> = []
  let a: NodeProcess
  let b: NodeProcess

  beforeAll(async () => {
    redis = await startPrivateRedis()
    probe = new Redis(redis.url, { maxRetriesPerRequest: 1 })
    probe.on("error", () => {})
    dbs.push(await createTestDatabase("live_a"), await createTestDatabase("live_b"))
    const env = (db: TestDatabase) => ({ DATABASE_URL: db.url, REDIS_URL: redis.url, LIVE_INTERVAL_MS: "20" })
    ;[a, b] = await Promise.all([spawnNode(env(dbs[0]!)), spawnNode(env(dbs[1]!))])
  })
  afterAll(async () => {
    await Promise.all([a?.kill("SIGTERM"), b?.kill("SIGTERM")])
    probe?.disconnect()
    await redis?.stop()
    await Promise.all(dbs.map((db) => db.drop()))
  })

  /** Subscribes on `node` and waits until `publisher` knows it must publish these topics. */
  const dashboard = async (node: NodeProcess, sensors: ReadonlyArray<string>, publisher: NodeProcess = a): Promise<TestSocket> => {
    const known = await metricValue(publisher.url, "flowmesh_live_remote_topics")
    const socket = await openSocket(wsUrl(node.url, "/ws/live"))
    socket.send({ type: "subscribe", sensors })
    await socket.next((f) => f.type === "subscribed")
    await until("the publisher to learn the new interest", async () => (await metricValue(publisher.url, "flowmesh_live_remote_topics")) >= known + sensors.length)
    return socket
  }

  /** Closes dashboards and waits until node A has heard that nobody watches any more. */
  const closeDashboards = async (...sockets: ReadonlyArray<TestSocket>) => {
    await Promise.all(sockets.map((s) => s.close()))
    await until("node A to forget the closed dashboards' interest", async () => (await metricValue(a.url, "flowmesh_live_remote_topics")) === 0)
  }

  it("a dashboard on node B sees readings ingested on node A, in order, with one Redis subscription per node", async () => {
    const first = await dashboard(b, ["x-1"])
    const second = await openSocket(wsUrl(b.url, "/ws/live"))
    second.send({ type: "subscribe", sensors: ["x-1"] })
    await second.next((f) => f.type === "subscribed")
    await until("node B's subscription in Redis", async () => (await probe.pubsub("NUMSUB", "flowmesh:live:x-1"))[1] === 1)
    const t0 = Date.now() - 10_000
    for (let i = 0; i < 30; i++) await ingest(a, "x-1", i, t0 + i)
    await until("30 readings on both dashboards", () => valuesOf(first.frames, "x-1").length === 30 && valuesOf(second.frames, "x-1").length === 30)
    expect(valuesOf(first.frames, "x-1")).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect((await probe.pubsub("NUMSUB", "flowmesh:live:x-1"))[1]).toBe(1)
    await first.close()
    expect((await probe.pubsub("NUMSUB", "flowmesh:live:x-1"))[1]).toBe(1)
    await closeDashboards(second)
    await until("node B to drop its subscription", async () => (await probe.pubsub("NUMSUB", "flowmesh:live:x-1"))[1] === 0)
  })

  it("publishes to Redis only sensors a dashboard on another node watches", async () => {
    const socket = await dashboard(b, ["watched-1"])
    const published = () => metricValue(a.url, "flowmesh_live_published_total")
    // The watched sensor's first reading and its status change reach B before counting starts.
    await ingest(a, "watched-1", 0, Date.now() - 2000)
    await socket.next((f) => f.type === "state" && f.sensor === "watched-1")
    await until("the first watched reading on B", () => valuesOf(socket.frames, "watched-1").length === 1)
    const before = await published()
    for (let i = 0; i < 20; i++) await ingest(a, "unwatched-1", i, Date.now() - 10_000 + i)
    await ingest(a, "watched-1", 1, Date.now() - 1000)
    await until("the watched reading on B", () => valuesOf(socket.frames, "watched-1").length === 2)
    // One message since: the watched reading. The unwatched sensor's readings, decided before it, published nothing.
    expect((await published()) - before).toBe(1)
    await closeDashboards(socket)
  })

  it("a prefix subscription on node B follows sensors of node A", async () => {
    const socket = await dashboard(b, ["plant-3/*"])
    await until("node B's pattern in Redis", async () => Number(await probe.pubsub("NUMPAT")) === 1)
    await ingest(a, "plant-3/flow", 7, Date.now() - 1000)
    await until("the reading on B", () => valuesOf(socket.frames, "plant-3/flow").length === 1)
    await closeDashboards(socket)
  })

  it("alerts raised on node A reach node B's dashboards: the sensor's watchers and the all-alerts watchers, once each", async () => {
    const put = await fetch(`${a.url}/api/v1/sensors/${encodeURIComponent("site-9/tank")}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [{ id: "high", kind: "threshold", high: 10 }] })
    })
    expect(put.status).toBe(200)
    const watcher = await openSocket(wsUrl(b.url, "/ws/live"))
    const known = await metricValue(a.url, "flowmesh_live_remote_topics")
    watcher.send({ type: "subscribe", alerts: true })
    await watcher.next((f) => f.type === "subscribed")
    await until("node A to learn the all-alerts interest", async () => (await metricValue(a.url, "flowmesh_live_remote_topics")) >= known + 1)
    const both = await dashboard(b, ["site-9/tank", "marker-9"])
    both.send({ type: "subscribe", alerts: true })
    await both.next((f) => f.type === "subscribed", 5_000, 1)
    await ingest(a, "site-9/tank", 50, Date.now() - 1_000)
    const [frame] = await watcher.collect((f) => f.type === "alert", 1)
    expect(frame?.notification).toMatchObject({ type: "alert.opened", notifier: "site-9", alert: { sensor: "site-9/tank", rule: "high", status: "open" } })
    await both.next((f) => f.type === "alert")
    // The dashboard that watches both the sensor and every alert gets the alert once: a second copy
    // would have come before a reading node A published after it (one Redis connection keeps the order).
    await ingest(a, "marker-9", 1, Date.now() - 1_000)
    await until("the marker reading on B", () => valuesOf(both.frames, "marker-9").length === 1)
    expect(both.frames.filter((f) => f.type === "alert")).toHaveLength(1)
    await closeDashboards(watcher, both)
  })

  it("Redis down: ingestion stays durable, local feeds go on, dashboards are told; all recovers when Redis is back", async () => {
    const onB = await dashboard(b, ["r-1", "local-b"])
    await until("node B's subscription in Redis", async () => (await probe.pubsub("NUMSUB", "flowmesh:live:r-1"))[1] === 1)
    const t0 = Date.now() - 10_000
    await ingest(a, "r-1", 1, t0)
    await until("the first reading across nodes", () => valuesOf(onB.frames, "r-1").length === 1)

    await redis.stop()
    const degraded = await onB.next((f) => f.type === "degraded")
    expect(degraded).toMatchObject({ reason: "redis_unavailable" })
    await ingest(a, "r-1", 2, t0 + 1)
    await ingest(b, "local-b", 5, t0)
    await until("the local reading on B", () => valuesOf(onB.frames, "local-b").length === 1)

    await redis.start()
    await onB.next((f) => f.type === "recovered", 20_000)
    await until("node B's subscription back in Redis", async () => (await probe.pubsub("NUMSUB", "flowmesh:live:r-1").catch(() => [0, 0]))[1] === 1)
    // Node A publishes again once its own connection is back (its /ready says so).
    await until("node A's Redis connection", async () => {
      const ready = await fetch(`${a.url}/ready`).then((r) => r.json() as Promise<{ checks: { redis: boolean } }>)
      return ready.checks.redis
    }, 20_000)
    await ingest(a, "r-1", 3, t0 + 2)
    await until("readings across nodes again", () => valuesOf(onB.frames, "r-1").includes(3), 20_000)
    // The reading published while Redis was down was not delivered across nodes; it is stored all the same.
    expect(valuesOf(onB.frames, "r-1")).toEqual([1, 3])
    const history = await fetch(`${a.url}/api/v1/sensors/r-1/readings?limit=10`).then((r) => r.json() as Promise<{ readings: Array<{ value: number }> }>)
    expect(history.readings.map((r) => r.value).sort()).toEqual([1, 2, 3])
    await closeDashboards(onB)
  })
})
