/**
 * Device keys over MQTT with AUTH_MODE=required, against a private Mosquitto with its
 * dynamic-security plugin and a real node on the machine's PostgreSQL: a device key created through
 * the API becomes a broker client (its key id the username, the key its password) that may publish
 * only to flowmesh/<key id>/readings, and only its key's sensors are stored; revoking the key
 * disconnects it and it cannot come back; a key cannot be issued while the broker is away, and a
 * revocation the broker missed is made when the node reconnects (reconciliation).
 */
import { connectAsync, type MqttClient } from "mqtt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiCall } from "../support/api-call.js"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { counterValue } from "../support/metrics.js"
import { type PrivateMosquitto, startPrivateMosquitto } from "../support/mosquitto.js"
import { getJson, type RunningNode, startNode } from "../support/node-harness.js"

const PEPPER = "pepper-pepper-pepper-pepper-pepper-0"
const BOOTSTRAP = "bootstrap-admin-key-of-at-least-32-characters"
const ADMIN = { username: "admin", password: "admin-password" }

interface Key {
  readonly id: string
  readonly key: string
}

const api = (url: string, method: string, path: string, body?: unknown) => apiCall(url, method, path, BOOTSTRAP, body)

/**
 * The broker's clients, as its dynamic-security admin sees them. Mosquitto disconnects every
 * session of a user whose roles change (the node grants its own user a role once): such a probe
 * fails and is tried again.
 */
const brokerClients = async (url: string): Promise<ReadonlyArray<string>> => {
  const admin = await connectAsync(url, { protocolVersion: 5, ...ADMIN, reconnectPeriod: 0, connectTimeout: 5_000 })
  try {
    const answer = new Promise<ReadonlyArray<string>>((resolve, reject) => {
      admin.on("message", (_t, payload) => {
        const answer = (JSON.parse(payload.toString()) as { responses?: Array<{ command?: string; data?: { clients?: Array<string> } }> }).responses?.[0]
        if (answer?.command !== "listClients") return
        const clients = answer.data?.clients
        if (clients === undefined) reject(new Error(`listClients answered ${payload.toString()}`))
        else resolve(clients)
      })
      admin.on("close", () => reject(new Error("the admin probe was disconnected")))
      setTimeout(() => reject(new Error("no answer to listClients within 5 s")), 5_000)
    })
    await admin.subscribeAsync("$CONTROL/dynamic-security/v1/response")
    await admin.publishAsync("$CONTROL/dynamic-security/v1", JSON.stringify({ commands: [{ command: "listClients", count: -1 }] }))
    return await answer
  } finally {
    await admin.endAsync(true)
  }
}

/** `brokerClients`, tried again while a probe is disconnected. */
const listed = (url: string) =>
  until("the broker's client list", () => brokerClients(url).catch(() => undefined), 20_000)

const connectDevice = (url: string, k: Key) =>
  connectAsync(url, { protocolVersion: 5, clientId: `dev-${k.id}`, username: k.id, password: k.key, reconnectPeriod: 0, connectTimeout: 5_000 })

describe("MQTT device keys (AUTH_MODE=required, dynamic security)", () => {
  let db: TestDatabase
  let broker: PrivateMosquitto
  let node: RunningNode
  const now = Date.now()
  let ts = now - 60_000

  beforeAll(async () => {
    db = await createTestDatabase("mqtt_auth")
    broker = await startPrivateMosquitto({ dynsec: ADMIN })
    node = await startNode({
      DATABASE_URL: db.url,
      AUTH_MODE: "required",
      AUTH_PEPPER: PEPPER,
      AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
      AUTH_CACHE_TTL_MS: "1000",
      MQTT_URL: broker.url,
      MQTT_USERNAME: ADMIN.username,
      MQTT_PASSWORD: ADMIN.password,
      MQTT_CONNECTIONS: "2",
      MQTT_RECONNECT_MS: "200"
    })
    await until("the MQTT edge connected", async () => ((await getJson(`${node.url}/ready`)).body as { checks: { mqtt: boolean } }).checks.mqtt || undefined)
  })

  afterAll(async () => {
    await node?.stop()
    await broker?.stop()
    await db?.drop()
  })

  const deviceKey = async (sensorPrefix: string): Promise<Key> => {
    const created = await until("a device key", async () => {
      const r = await api(node.url, "POST", "/api/v1/keys", { kind: "device", name: `gateway ${sensorPrefix}`, sensorPrefix })
      if (r.status !== 201 && r.status !== 503) throw new Error(`keys answered ${r.status}: ${JSON.stringify(r.body)}`)
      return r.status === 201 && r.body !== null ? r.body : undefined // 503 until the node's admin connection is up
    })
    return { id: created.id as string, key: created.key as string }
  }

  /** Publishes and waits for the verdict on the key's acks topic. */
  const publish = async (client: MqttClient, k: Key, body: unknown) => {
    const answer = new Promise<{ status: string | undefined; body: Record<string, unknown> }>((resolve) =>
      client.once("message", (_t, payload, packet) => {
        const status = packet.properties?.userProperties?.status
        resolve({ status: Array.isArray(status) ? status[0] : status, body: JSON.parse(payload.toString()) as Record<string, unknown> })
      })
    )
    await client.subscribeAsync(`flowmesh/${k.id}/acks`, { qos: 0 })
    await client.publishAsync(`flowmesh/${k.id}/readings`, JSON.stringify(body), { qos: 1 })
    return answer
  }

  const stored = async (sensor: string) =>
    (await node.sql<{ n: number }>("select count(*)::int as n from readings r join sensors s on s.key = r.sensor_key where s.id = $1", [sensor]))[0]!.n

  it("a device key publishes its own sensors' readings with the key as its password; others are refused by the node", async () => {
    const k = await deviceKey("plant-a/")
    expect(await listed(broker.url)).toContain(k.id)
    const client = await connectDevice(broker.url, k)
    try {
      const verdict = await publish(client, k, { readings: [{ sensor: "plant-a/flow", ts: ts++, value: 1.5 }, { sensor: "plant-b/flow", ts: ts++, value: 2 }] })
      expect(verdict.status).toBe("202")
      expect(verdict.body).toMatchObject({ accepted: 1, durable: true })
      expect(JSON.stringify(verdict.body.rejected)).toContain("plant-b/flow")
      expect(await stored("plant-a/flow")).toBe(1)
      expect(await stored("plant-b/flow")).toBe(0)
    } finally {
      await client.endAsync(true)
    }
  })

  it("the broker refuses a wrong password, and a publish to another key's topic (its ACL)", async () => {
    const k = await deviceKey("plant-c/")
    const other = await deviceKey("plant-d/")
    await expect(connectDevice(broker.url, { id: k.id, key: other.key })).rejects.toThrow(/not authorized|bad user name or password/i)
    const client = await connectDevice(broker.url, k)
    try {
      await expect(client.publishAsync(`flowmesh/${other.id}/readings`, JSON.stringify({ sensor: "plant-d/flow", ts: ts++, value: 1 }), { qos: 1 })).rejects.toThrow(
        /not authorized/i
      )
      // Nor may it listen to another device's answers.
      await expect(client.subscribeAsync(`flowmesh/${other.id}/acks`, { qos: 0 })).rejects.toThrow(/not authorized/i)
      expect(await stored("plant-d/flow")).toBe(0)
    } finally {
      await client.endAsync(true)
    }
  })

  it("a revoked key is disconnected at once and cannot connect again", async () => {
    const k = await deviceKey("plant-e/")
    const client = await connectDevice(broker.url, k)
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()))
    expect((await api(node.url, "DELETE", `/api/v1/keys/${k.id}`)).status).toBe(204)
    const startedAt = Date.now()
    await closed
    expect(Date.now() - startedAt).toBeLessThan(2_000)
    await expect(connectDevice(broker.url, k)).rejects.toThrow(/not authorized|bad user name or password/i)
    expect(await listed(broker.url)).not.toContain(k.id)
    client.end(true)
  })

  it("no device key is issued while the broker is away; a revocation it missed is made when the node reconnects", async () => {
    const k = await deviceKey("plant-f/")
    const failedBefore = await counterValue(node.url, 'flowmesh_mqtt_credentials_total{action="failed"}')
    await broker.stop()
    try {
      const refused = await api(node.url, "POST", "/api/v1/keys", { kind: "device", name: "while away", sensorPrefix: "plant-g/" })
      expect(refused.status).toBe(503)
      expect(String(refused.body?.message)).toMatch(/device key not issued: the MQTT broker/)
      const listed = (await api(node.url, "GET", "/api/v1/keys")).body as { keys: Array<{ name: string }> }
      expect(listed.keys.map((x) => x.name)).not.toContain("while away")
      // Revoked in PostgreSQL while the broker cannot hear it.
      expect((await api(node.url, "DELETE", `/api/v1/keys/${k.id}`)).status).toBe(204)
      expect(await counterValue(node.url, 'flowmesh_mqtt_credentials_total{action="failed"}')).toBe(failedBefore + 2)
    } finally {
      await broker.start()
    }
    await until("the stale broker client removed", async () => ((await listed(broker.url)).includes(k.id) ? undefined : true), 15_000)
    await expect(connectDevice(broker.url, k)).rejects.toThrow(/not authorized|bad user name or password/i)
    // The broker may show the deletion a moment before the node reads its answer.
    await until("the removal counted", async () => ((await counterValue(node.url, 'flowmesh_mqtt_credentials_total{action="removed"}')) >= 1 ? true : undefined))
  })
})
