/**
 * The MQTT edge against a real Mosquitto (a private one, so it can be stopped) and a real node on
 * the machine's PostgreSQL: a device publishes HTTP ingest bodies to flowmesh/<device>/readings and
 * hears the same verdicts on its response topic or flowmesh/<device>/acks; QoS 1 is answered (and
 * acknowledged) only after the commit; bad payloads get an error naming the field and the
 * connection carries on; a broker that goes away and comes back leaves HTTP ingest untouched and
 * is reported by /ready. A node killed before its commit is handed the message again when it comes
 * back under the same client id, and stores it exactly once.
 */
import { connectAsync, type MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, lockTable, query, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { type PrivateMosquitto, startPrivateMosquitto } from "../support/mosquitto.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { spawnNode } from "../support/node-process.js"

interface Reply {
  readonly topic: string
  readonly status: string | undefined
  readonly correlation: string | undefined
  readonly body: Record<string, unknown>
}

/** A device: its connection and every reply it heard, in order. */
const device = async (url: string, id: string) => {
  const client: MqttClient = await connectAsync(url, { protocolVersion: 5, clientId: `test-${id}-${Date.now()}`, reconnectPeriod: 200 })
  const replies: Array<Reply> = []
  client.on("message", (topic, payload, packet) => {
    const status = packet.properties?.userProperties?.status
    replies.push({
      topic,
      status: Array.isArray(status) ? status[0] : status,
      correlation: packet.properties?.correlationData?.toString(),
      body: JSON.parse(payload.toString()) as Record<string, unknown>
    })
  })
  await client.subscribeAsync([`flowmesh/${id}/acks`, `flowmesh/${id}/replies`], { qos: 0 })
  /** Publishes and waits for the reply with this correlation. */
  const send = async (payload: string | object, correlation: string, qos: 0 | 1 = 1, responseTopic: string | null = `flowmesh/${id}/replies`, timeoutMs = 10_000) => {
    await client.publishAsync(`flowmesh/${id}/readings`, typeof payload === "string" ? payload : JSON.stringify(payload), {
      qos,
      properties: { correlationData: Buffer.from(correlation), ...(responseTopic === null ? {} : { responseTopic }) }
    })
    return until(`the reply to ${correlation}`, async () => replies.find((r) => r.correlation === correlation), timeoutMs)
  }
  return { client, replies, send }
}

describe("MQTT edge", () => {
  let db: TestDatabase
  let broker: PrivateMosquitto
  let node: RunningNode
  const now = Date.now()

  beforeAll(async () => {
    db = await createTestDatabase("mqtt")
    broker = await startPrivateMosquitto()
    node = await startNode({ DATABASE_URL: db.url, MQTT_URL: broker.url, MQTT_CONNECTIONS: "2", MQTT_RECONNECT_MS: "200" })
    await until("the MQTT edge connected", async () => ((await getJson(`${node.url}/ready`)).body as { checks: { mqtt: boolean } }).checks.mqtt || undefined)
  })

  afterAll(async () => {
    await node?.stop()
    await broker?.stop()
    await db?.drop()
  })

  it("stores a QoS 1 message's readings and answers the HTTP verdict on the response topic, with its correlation data", async () => {
    const d = await device(broker.url, "gw-1")
    try {
      const reply = await d.send(
        { readings: [{ sensor: "site-1/flow", ts: now - 2_000, value: 4.2 }, { sensor: "site-1/flow", ts: now - 1_000, value: 4.3 }, { sensor: "site-1/level", ts: now - 1_000, value: 81 }] },
        "c-1"
      )
      expect(reply).toMatchObject({ topic: "flowmesh/gw-1/replies", status: "202", body: { accepted: 3, durable: true, suspect: [], rejected: [] } })
      // Durable means committed: the rows are there when the verdict arrives.
      const rows = await node.sql<{ id: string; n: number }>(
        "select s.id, count(*)::int as n from readings r join sensors s on s.key = r.sensor_key where s.id like 'site-1/%' group by s.id order by s.id"
      )
      expect(rows).toEqual([{ id: "site-1/flow", n: 2 }, { id: "site-1/level", n: 1 }])
      // The same message again (a redelivery) is answered duplicate, never stored twice.
      const again = await d.send({ readings: [{ sensor: "site-1/flow", ts: now - 2_000, value: 4.2 }] }, "c-1b")
      expect(again.body).toMatchObject({ accepted: 0, rejected: [{ index: 0, sensor: "site-1/flow", reason: "duplicate" }] })
      // Without a response topic the answer goes to flowmesh/<device>/acks; one bare reading is a body too.
      const bare = await d.send({ sensor: "site-1/flow", ts: now - 500, value: 4.4 }, "c-2", 1, null)
      expect(bare).toMatchObject({ topic: "flowmesh/gw-1/acks", body: { accepted: 1, durable: true } })
    } finally {
      await d.client.endAsync()
    }
  })

  it("answers a QoS 1 message only once its readings are committed, holding several of a connection's messages at once", async () => {
    const d = await device(broker.url, "gw-2")
    const lock = await lockTable(db.url, "readings")
    try {
      await d.client.publishAsync("flowmesh/gw-2/readings", JSON.stringify([{ sensor: "site-2/flow", ts: now - 1_000, value: 1 }]), {
        qos: 1,
        properties: { correlationData: Buffer.from("held"), responseTopic: "flowmesh/gw-2/replies" }
      })
      // Messages behind it on the broker connections are taken too, not queued behind its commit.
      for (let i = 0; i < 4; i++) {
        await d.client.publishAsync("flowmesh/gw-2/readings", JSON.stringify({ sensor: `site-2/more-${i}`, ts: now - 1_000, value: i }), { qos: 1 })
      }
      await until("five messages held by the node", async () => ((await metricValue(node.url, "flowmesh_mqtt_held_messages")) === 5 ? true : undefined))
      await new Promise((r) => setTimeout(r, 1_000))
      expect(d.replies).toEqual([])
      await lock.release()
      const reply = await until("the reply after the commit", async () => d.replies.find((r) => r.correlation === "held"))
      expect(reply.body).toMatchObject({ accepted: 1, durable: true })
      expect(await node.sql("select 1 from readings r join sensors s on s.key = r.sensor_key where s.id = 'site-2/flow'")).toHaveLength(1)
      await until("every message answered", async () => (d.replies.length === 5 ? true : undefined))
      expect(await metricValue(node.url, "flowmesh_mqtt_held_messages")).toBe(0)
    } finally {
      await lock.release()
      await d.client.endAsync()
    }
  })

  it("answers a bad payload with an error naming the field, and the device's next message is taken", async () => {
    const d = await device(broker.url, "gw-3")
    try {
      const malformed = await d.send("{not json", "bad-1")
      expect(malformed.status).toBe("400")
      expect(malformed.body).toMatchObject({ error: "malformed_json" })
      const invalid = await d.send({ readings: [{ sensor: "site-3/flow", ts: now, value: "x" }] }, "bad-2")
      expect(invalid.status).toBe("422")
      expect(String(invalid.body.message)).toMatch(/^readings\[0\]\.value: /)
      const tooBig = await d.send({ readings: [{ sensor: "site-3/flow", ts: now, value: 1e300 }] }, "bad-3")
      expect(String(tooBig.body.message)).toMatch(/^readings\[0\]\.value: must be between -1e200 and 1e200/)
      const good = await d.send({ readings: [{ sensor: "site-3/flow", ts: now - 100, value: 2 }] }, "good")
      expect(good.body).toMatchObject({ accepted: 1, durable: true })
      expect(await counterValue(node.url, 'flowmesh_mqtt_messages_total{qos="1",outcome="refused"}')).toBeGreaterThanOrEqual(3)
      expect(await counterValue(node.url, 'flowmesh_readings_total{transport="mqtt",outcome="malformed"}')).toBeGreaterThanOrEqual(3)
    } finally {
      await d.client.endAsync()
    }
  })

  it("takes QoS 0 messages as fire-and-forget and counts them", async () => {
    const d = await device(broker.url, "gw-4")
    try {
      const reply = await d.send({ readings: [{ sensor: "site-4/flow", ts: now - 100, value: 7 }] }, "q0", 0)
      expect(reply.body).toMatchObject({ accepted: 1 })
      expect(await counterValue(node.url, 'flowmesh_mqtt_messages_total{qos="0",outcome="acked"}')).toBeGreaterThanOrEqual(1)
      await until("the QoS 0 reading stored", async () =>
        (await node.sql("select 1 from readings r join sensors s on s.key = r.sensor_key where s.id = 'site-4/flow'")).length === 1 || undefined
      )
    } finally {
      await d.client.endAsync()
    }
  })

  it("hands a message a node was killed before committing to that node again when it comes back, stored exactly once", async () => {
    const db2 = await createTestDatabase("mqtt_kill")
    const env = {
      DATABASE_URL: db2.url,
      MQTT_URL: broker.url,
      MQTT_CLIENT_ID: "kill-test",
      MQTT_CONNECTIONS: "1",
      MQTT_TOPIC_PREFIX: "killtest",
      MQTT_RECONNECT_MS: "200"
    }
    const stored = () =>
      query<{ n: number }>(db2.url, "select count(*)::int as n from readings r join sensors s on s.key = r.sensor_key where s.id = 'site-6/flow'")
    const first = await spawnNode(env)
    const publisher = await connectAsync(broker.url, { protocolVersion: 5, clientId: `pub-kill-${Date.now()}` })
    const acks: Array<Record<string, unknown>> = []
    publisher.on("message", (_t, payload) => acks.push(JSON.parse(payload.toString()) as Record<string, unknown>))
    await publisher.subscribeAsync("killtest/gw-6/acks")
    let second: Awaited<ReturnType<typeof spawnNode>> | null = null
    try {
      const lock = await lockTable(db2.url, "readings")
      await publisher.publishAsync("killtest/gw-6/readings", JSON.stringify({ readings: [{ sensor: "site-6/flow", ts: now - 1_000, value: 6 }] }), { qos: 1 })
      await new Promise((r) => setTimeout(r, 1_000))
      await first.kill("SIGKILL")
      expect(acks).toEqual([])
      // The killed node's insert waits on the lock with nobody to answer: PostgreSQL may still commit it
      // once the lock goes (it does not notice the client is gone), so the row is there or not, never acknowledged.
      await lock.release()
      second = await spawnNode(env)
      const ack = await until("the verdict of the redelivered message", async () => acks[0], 20_000)
      expect(ack.durable).toBe(true)
      // Stored by the redelivery, or answered duplicate because the killed node's statement committed after all.
      expect([JSON.stringify({ accepted: 1, rejected: [] }), JSON.stringify({ accepted: 0, rejected: [{ index: 0, sensor: "site-6/flow", reason: "duplicate" }] })]).toContain(
        JSON.stringify({ accepted: ack.accepted, rejected: ack.rejected })
      )
      expect(await stored()).toEqual([{ n: 1 }])
    } finally {
      await publisher.endAsync()
      await first.kill("SIGKILL")
      await second?.kill("SIGTERM")
      await db2.drop()
    }
  }, 90_000)

  it("reports a broker that went away on /ready, keeps HTTP ingest going, and takes messages again once it is back", async () => {
    await broker.stop()
    const ready = await until("/ready to show the broker down", async () => {
      const r = await getJson(`${node.url}/ready`)
      return (r.body as { checks: { mqtt: boolean } }).checks.mqtt === false ? r : undefined
    })
    expect(ready.status).toBe(200)
    const http = await postJson(`${node.url}/api/v1/readings?ack=durable`, { readings: [{ sensor: "site-5/flow", ts: now - 100, value: 1 }] })
    expect(http.status).toBe(202)
    await broker.start()
    await until("the MQTT edge back", async () => ((await getJson(`${node.url}/ready`)).body as { checks: { mqtt: boolean } }).checks.mqtt || undefined)
    expect(await counterValue(node.url, "flowmesh_mqtt_reconnects_total")).toBeGreaterThanOrEqual(1)
    const d = await device(broker.url, "gw-5")
    try {
      const reply = await d.send({ readings: [{ sensor: "site-5/flow", ts: now - 50, value: 2 }] }, "back")
      expect(reply.body).toMatchObject({ accepted: 1, durable: true })
    } finally {
      await d.client.endAsync()
    }
  })
})
