/**
 * Readings out, against a real node on a fresh database: committed readings, with their stored
 * quality, reach a Redis stream on the machine's Redis (read back through a consumer group) and
 * MQTT topics on a real Mosquitto (a retained last value for a subscriber that comes later). A
 * target that is stopped costs dropped, counted readings, while HTTP ingest still answers 202 at
 * once; a target that comes back is sent readings again.
 */
import { Redis } from "ioredis"
import { connectAsync, type MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, lockTable, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { awaitMetric, counterValue, metricValue } from "../support/metrics.js"
import { type PrivateMosquitto, startPrivateMosquitto } from "../support/mosquitto.js"
import { postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { type PrivateRedis, startPrivateRedis } from "../support/redis-server.js"

const MACHINE_REDIS = "redis://127.0.0.1:6379"

interface OutMessage {
  readonly topic: string
  readonly retain: boolean
  readonly body: { sensor: string; ts: number; value: number; quality: string }
}

/** A SCADA subscriber: every message it heard on `filter`, in order. */
const subscriber = async (url: string, filter: string) => {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 5, clientId: `scada-${Date.now()}-${Math.random().toString(36).slice(2, 8)}` })
  const heard: Array<OutMessage> = []
  client.on("message", (topic, payload, packet) => {
    heard.push({ topic, retain: packet.retain, body: JSON.parse(payload.toString()) as OutMessage["body"] })
  })
  await client.subscribeAsync(filter, { qos: 1 })
  return { client, heard }
}

const ingest = (node: RunningNode, readings: ReadonlyArray<{ sensor: string; ts: number; value: number }>) =>
  postJson(`${node.url}/api/v1/readings?ack=durable`, { readings })

const fieldsOf = (flat: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

type StreamReply = Array<[string, Array<[string, Array<string>]>]> | null

describe("readings out to the machine's Redis and a real Mosquitto", () => {
  let db: TestDatabase
  let broker: PrivateMosquitto
  let node: RunningNode
  let redis: Redis
  const stream = `iot:readings:test:${process.pid}:${Date.now().toString(36)}`
  const t = Date.now() - 60_000

  beforeAll(async () => {
    redis = new Redis(MACHINE_REDIS, { maxRetriesPerRequest: 1 })
    // The consumer group reads what is appended after it is created ($), as an external service would.
    await redis.xgroup("CREATE", stream, "ml", "$", "MKSTREAM")
    db = await createTestDatabase("forward")
    broker = await startPrivateMosquitto()
    node = await startNode({
      DATABASE_URL: db.url,
      REDIS_URL: MACHINE_REDIS,
      FORWARD_REDIS_STREAM: stream,
      FORWARD_REDIS_MAXLEN: "10000",
      MQTT_URL: broker.url,
      FORWARD_MQTT: "on",
      FORWARD_MQTT_RETAIN: "true",
      FORWARD_MQTT_QOS: "1"
    })
    // The node's sensor config makes 60 suspect (softMax 50).
    const put = await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent("plant/flow")}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ softMax: 50, hardMax: 100 })
    })
    expect(put.status).toBe(200)
  })

  afterAll(async () => {
    await node?.stop()
    await broker?.stop()
    await db?.drop()
    await redis?.del(stream)
    redis?.disconnect()
  })

  it("appends every committed reading, with its stored quality, to the stream; a consumer group reads and acknowledges them", async () => {
    const answer = await ingest(node, [
      { sensor: "plant/flow", ts: t, value: 10 },
      { sensor: "plant/flow", ts: t + 1_000, value: 60 },
      { sensor: "plant/flow", ts: t + 2_000, value: 150 },
      { sensor: "plant/level", ts: t, value: 81.5 }
    ])
    expect(answer).toMatchObject({ status: 202, body: { accepted: 3, durable: true, rejected: [{ index: 2, reason: "invalid" }] } })

    const entries: Array<[string, Record<string, string>]> = []
    await until("three entries in the stream", async () => {
      const reply = (await redis.xreadgroup("GROUP", "ml", "c-1", "COUNT", 100, "STREAMS", stream, ">")) as StreamReply
      for (const [, items] of reply ?? []) for (const [id, flat] of items) entries.push([id, fieldsOf(flat)])
      return entries.length >= 3 ? true : undefined
    })
    const bySensor = entries.map(([, f]) => f).sort((a, b) => `${a.sensor}${a.ts}`.localeCompare(`${b.sensor}${b.ts}`))
    expect(bySensor).toEqual([
      { tenant: "default", sensor: "plant/flow", ts: String(t), value: "10", quality: "good" },
      { tenant: "default", sensor: "plant/flow", ts: String(t + 1_000), value: "60", quality: "suspect" },
      { tenant: "default", sensor: "plant/level", ts: String(t), value: "81.5", quality: "good" }
    ])
    expect(await redis.xack(stream, "ml", ...entries.map(([id]) => id))).toBe(3)
    const pending = (await redis.xpending(stream, "ml")) as [number, ...unknown[]]
    expect(pending[0]).toBe(0)
    expect(await counterValue(node.url, 'flowmesh_forward_readings_total{target="redis",outcome="sent"}')).toBeGreaterThanOrEqual(3)
  })

  it("forwards a reading only once it is committed", async () => {
    const live = await subscriber(broker.url, "flowmesh/out/held/#")
    const lock = await lockTable(db.url, "readings")
    try {
      // ack=accepted answers once the actor decided, before the commit the lock holds up.
      const answer = await postJson(`${node.url}/api/v1/readings?ack=accepted`, { readings: [{ sensor: "held/x", ts: t, value: 5 }] })
      expect(answer).toMatchObject({ status: 202, body: { accepted: 1 } })
      await new Promise((r) => setTimeout(r, 1_000))
      expect(live.heard).toEqual([])
      const entries = await redis.xrange(stream, "-", "+")
      expect(entries.filter(([, f]) => fieldsOf(f).sensor === "held/x")).toEqual([])
      await lock.release()
      const heard = await until("the reading after its commit", async () => live.heard[0])
      expect(heard.body).toEqual({ sensor: "held/x", ts: t, value: 5, quality: "good" })
      expect(await node.sql("select 1 from readings r join sensors s on s.key = r.sensor_key where s.id = 'held/x'")).toHaveLength(1)
    } finally {
      await lock.release()
      await live.client.endAsync()
    }
  })

  it("publishes every committed reading to flowmesh/out/<sensor>, and a late subscriber gets each sensor's retained last value", async () => {
    const live = await subscriber(broker.url, "flowmesh/out/line-2/#")
    try {
      const answer = await ingest(node, [
        { sensor: "line-2/temp", ts: t, value: 20.5 },
        { sensor: "line-2/temp", ts: t + 1_000, value: 21 },
        { sensor: "line-2/pressure", ts: t, value: 3.2 }
      ])
      expect(answer).toMatchObject({ status: 202, body: { accepted: 3, durable: true } })
      await until("three messages", async () => (live.heard.length >= 3 ? true : undefined))
      expect(live.heard.filter((m) => m.topic === "flowmesh/out/line-2/temp").map((m) => m.body)).toEqual([
        { sensor: "line-2/temp", ts: t, value: 20.5, quality: "good" },
        { sensor: "line-2/temp", ts: t + 1_000, value: 21, quality: "good" }
      ])
      expect(live.heard.find((m) => m.topic === "flowmesh/out/line-2/pressure")?.body).toEqual({ sensor: "line-2/pressure", ts: t, value: 3.2, quality: "good" })

      const late = await subscriber(broker.url, "flowmesh/out/line-2/temp")
      try {
        const retained = await until("the retained last value", async () => late.heard[0])
        expect(retained).toEqual({ topic: "flowmesh/out/line-2/temp", retain: true, body: { sensor: "line-2/temp", ts: t + 1_000, value: 21, quality: "good" } })
      } finally {
        await late.client.endAsync()
      }
      expect(await counterValue(node.url, 'flowmesh_forward_readings_total{target="mqtt",outcome="sent"}')).toBeGreaterThanOrEqual(3)
    } finally {
      await live.client.endAsync()
    }
  })
})

describe("readings out when the targets are down", () => {
  let db: TestDatabase
  let broker: PrivateMosquitto
  let redisServer: PrivateRedis
  let node: RunningNode
  const stream = `iot:readings:down:${process.pid}:${Date.now().toString(36)}`
  const t = Date.now() - 3_600_000

  beforeAll(async () => {
    db = await createTestDatabase("forward_down")
    broker = await startPrivateMosquitto()
    redisServer = await startPrivateRedis()
    node = await startNode({
      DATABASE_URL: db.url,
      REDIS_URL: redisServer.url,
      FORWARD_REDIS_STREAM: stream,
      MQTT_URL: broker.url,
      MQTT_RECONNECT_MS: "200",
      FORWARD_MQTT: "on",
      FORWARD_QUEUE_READINGS: "100",
      FORWARD_RETRY_MS: "100"
    })
  })

  afterAll(async () => {
    await node?.stop()
    await broker?.stop()
    await redisServer?.stop()
    await db?.drop()
  })

  it("counts the readings a stopped Redis and a stopped broker cannot take, while HTTP ingest answers 202 at once; both are sent to again once back", async () => {
    const sent = (target: string) => counterValue(node.url, `flowmesh_forward_readings_total{target="${target}",outcome="sent"}`)
    const dropped = (target: string) => counterValue(node.url, `flowmesh_forward_readings_total{target="${target}",outcome="dropped"}`)
    // Both targets take readings first.
    expect(await ingest(node, [{ sensor: "down/a", ts: t, value: 1 }])).toMatchObject({ status: 202, body: { accepted: 1 } })
    await until("both targets sent", async () => ((await sent("redis")) >= 1 && (await sent("mqtt")) >= 1 ? true : undefined))
    const before = { redis: await dropped("redis"), mqtt: await dropped("mqtt") }

    await Promise.all([redisServer.stop(), broker.stop()])
    const readings = Array.from({ length: 300 }, (_, i) => ({ sensor: `down/s${i % 10}`, ts: t + 1_000 + i, value: i }))
    const started = performance.now()
    for (let i = 0; i < 300; i += 100) {
      const answer = await ingest(node, readings.slice(i, i + 100))
      expect(answer).toMatchObject({ status: 202, body: { accepted: 100, durable: true } })
    }
    expect(performance.now() - started).toBeLessThan(3_000)
    // At most FORWARD_QUEUE_READINGS (100) wait per target; the others are dropped and counted.
    for (const target of ["redis", "mqtt"]) {
      await until(`${target} drops counted`, async () => ((await dropped(target)) - before[target as "redis" | "mqtt"] >= 200 ? true : undefined))
      expect(await metricValue(node.url, `flowmesh_forward_queue_readings{target="${target}"}`)).toBeLessThanOrEqual(100)
    }

    const sentBefore = await sent("mqtt")
    await Promise.all([redisServer.start(), broker.start()])
    const probe = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
    const scada = await connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 200 })
    const heard: Array<string> = []
    scada.on("message", (_topic, payload) => heard.push(payload.toString()))
    await scada.subscribeAsync("flowmesh/out/down/after", { qos: 0 })
    try {
      // Redis came back empty (no persistence): what the node held, and what comes next, is appended again.
      await awaitMetric(node.url, 'flowmesh_forward_queue_readings{target="mqtt"}', (v) => v === 0, 20_000)
      const after = await ingest(node, [{ sensor: "down/after", ts: t + 5_000, value: 42 }])
      expect(after).toMatchObject({ status: 202, body: { accepted: 1 } })
      await until(
        "the reading after the outage in the stream",
        async () => {
          const entries = await probe.xrange(stream, "-", "+")
          return entries.some(([, f]) => fieldsOf(f).sensor === "down/after") ? true : undefined
        },
        20_000
      )
      await awaitMetric(node.url, 'flowmesh_forward_readings_total{target="mqtt",outcome="sent"}', (v) => v > sentBefore, 20_000)
      // At QoS 0 (the default) the batch is written as raw PUBLISH packets: a subscriber reads them as any other.
      const message = await until("the reading after the outage on its MQTT topic", async () => heard[0], 20_000)
      expect(JSON.parse(message)).toEqual({ sensor: "down/after", ts: t + 5_000, value: 42, quality: "good" })
    } finally {
      probe.disconnect()
      await scada.endAsync(true)
    }
  })
})
