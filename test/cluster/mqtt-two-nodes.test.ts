/**
 * Two real node processes in one MQTT shared subscription, one PostgreSQL, a private Mosquitto:
 * the broker splits the devices' messages between the nodes (each takes a share) and every reading
 * is stored exactly once; a node killed with SIGKILL is handed its queued messages when it comes
 * back under the same client id (nothing lost, nothing twice); a node that stops gracefully ends
 * its sessions, and the other node takes all the traffic.
 */
import { connectAsync, type MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { counterValue } from "../support/metrics.js"
import { type PrivateMosquitto, startPrivateMosquitto } from "../support/mosquitto.js"
import { freePort, type NodeProcess, spawnNode } from "../support/node-process.js"

const DEVICES = 10
const ACKED = 'flowmesh_mqtt_messages_total{qos="1",outcome="acked"}'

describe("MQTT shared subscription across two nodes", () => {
  let db: TestDatabase
  let broker: PrivateMosquitto
  let publisher: MqttClient
  const nodes: Record<"a" | "b", NodeProcess | null> = { a: null, b: null }
  const env: Record<"a" | "b", Record<string, string>> = { a: {}, b: {} }
  /** Verdicts heard on the devices' acks topics: accepted readings and duplicates. */
  const heard = { verdicts: 0, accepted: 0, duplicates: 0 }
  const base = Date.now() - 3_600_000
  let sent = 0

  const storedRows = async () => (await query<{ n: number; distinct: number }>(db.url, "select count(*)::int as n, count(distinct (sensor_key, ts))::int as distinct from readings"))[0]!

  /** Publishes one message per device, each reading for a sensor of its own (no two messages race for one sensor's order). */
  const publishRound = async () => {
    const round = sent / DEVICES
    await Promise.all(
      Array.from({ length: DEVICES }, (_, d) =>
        publisher.publishAsync(`flowmesh/gw-${d}/readings`, JSON.stringify({ sensor: `m2/gw-${d}/r-${round}`, ts: base + round, value: round }), { qos: 1 })
      )
    )
    sent += DEVICES
  }

  beforeAll(async () => {
    db = await createTestDatabase("mqtt_two_nodes")
    broker = await startPrivateMosquitto()
    const [pa, pb] = await Promise.all([freePort(), freePort()])
    const common = { DATABASE_URL: db.url, RUNNER_HOST: "127.0.0.1", MQTT_URL: broker.url, MQTT_CONNECTIONS: "2", MQTT_RECONNECT_MS: "200" }
    env.a = { ...common, RUNNER_PORT: String(pa), MQTT_CLIENT_ID: "two-a" }
    env.b = { ...common, RUNNER_PORT: String(pb), MQTT_CLIENT_ID: "two-b" }
    ;[nodes.a, nodes.b] = await Promise.all([spawnNode(env.a), spawnNode(env.b)])
    publisher = await connectAsync(broker.url, { protocolVersion: 5, clientId: `two-pub-${Date.now()}` })
    publisher.on("message", (_topic, payload) => {
      const body = JSON.parse(payload.toString()) as { accepted?: number; rejected?: Array<{ reason: string }> }
      heard.verdicts++
      heard.accepted += body.accepted ?? 0
      heard.duplicates += (body.rejected ?? []).filter((r) => r.reason === "duplicate").length
    })
    await publisher.subscribeAsync("flowmesh/+/acks", { qos: 1 })
    for (const n of [nodes.a, nodes.b]) {
      await until("both nodes subscribed", async () => ((await counterValue(n.url, "flowmesh_mqtt_connections")) === 2 ? true : undefined))
    }
  }, 180_000)

  afterAll(async () => {
    await publisher?.endAsync(true)
    await nodes.a?.kill("SIGKILL")
    await nodes.b?.kill("SIGKILL")
    await broker?.stop()
    await db?.drop()
  })

  it("splits the devices' messages between the nodes and stores each reading once", async () => {
    for (let i = 0; i < 10; i++) await publishRound()
    await until("every verdict", async () => (heard.verdicts === sent ? true : undefined), 30_000)
    const a = await counterValue(nodes.a!.url, ACKED)
    const b = await counterValue(nodes.b!.url, ACKED)
    expect(a + b).toBe(sent)
    // Round robin: each node takes a real share, not a trickle.
    expect(Math.min(a, b)).toBeGreaterThanOrEqual(sent / 4)
    expect(heard.accepted).toBe(sent)
    expect(await storedRows()).toEqual({ n: sent, distinct: sent })
  })

  it("a node killed with SIGKILL is handed its share again when it comes back: every reading stored, once", async () => {
    await nodes.a!.kill("SIGKILL")
    nodes.a = null
    for (let i = 0; i < 5; i++) await publishRound()
    // Node b answers its share at once; node a's share waits in its sessions at the broker.
    await until("node b's share answered", async () => (heard.verdicts >= sent - 30 ? true : undefined), 30_000)
    await new Promise((r) => setTimeout(r, 1_000))
    // What the broker queued for node a's sessions (Mosquitto 2.0 keeps a shared subscriber's share while it is away).
    expect(sent - heard.verdicts).toBeGreaterThan(0)
    nodes.a = await spawnNode(env.a)
    await until("every verdict, after node a's return", async () => (heard.verdicts === sent ? true : undefined), 30_000)
    expect(heard.accepted + heard.duplicates).toBe(sent)
    expect(await storedRows()).toEqual({ n: sent, distinct: sent })
  })

  it("a node stopped gracefully ends its sessions: the other node takes all the traffic at once", async () => {
    expect(await nodes.b!.kill("SIGTERM")).toBe(0)
    nodes.b = null
    const before = await counterValue(nodes.a!.url, ACKED)
    for (let i = 0; i < 5; i++) await publishRound()
    await until("every verdict from node a alone", async () => (heard.verdicts === sent ? true : undefined), 30_000)
    expect((await counterValue(nodes.a!.url, ACKED)) - before).toBe(5 * DEVICES)
    expect(await storedRows()).toEqual({ n: sent, distinct: sent })
  })
})
