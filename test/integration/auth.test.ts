/**
 * Authentication and roles end to end, AUTH_MODE=required, on real PostgreSQL: the bootstrap admin
 * key creates a tenant and its keys; every endpoint is tried by every kind of caller (nobody, a
 * device key, viewer/operator/admin API keys, a JWT, the bootstrap key) and answers 401, 403 or
 * passes as the policy says; device keys write only their sensors, on HTTP and WebSocket; a revoked
 * key is refused at once on its node and within the cache TTL on another node.
 */
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { WS_BEARER_PREFIX, WS_PROTOCOL } from "../../src/http/auth/credentials.js"
import { ENDPOINT_ACCESS as ACCESS } from "../../src/http/api.js"
import { apiCall } from "../support/api-call.js"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
import { openSocket, wsUrl } from "../support/ws-client.js"

const PEPPER = "pepper-pepper-pepper-pepper-pepper-0"
const BOOTSTRAP = "bootstrap-admin-key-of-at-least-32-characters"
const JWT_SECRET = "jwt-secret-jwt-secret-jwt-secret-jwt-secret"
const TTL_MS = 1_000

const call = apiCall

let n = 0
/** One request per endpoint of the API, valid enough to get past authorization to the handler. */
const REQUESTS: Record<string, () => { readonly method: string; readonly path: string; readonly body?: unknown }> = {
  "ingest.postReadings": () => ({ method: "POST", path: "/api/v1/readings", body: { readings: [{ sensor: "mx-1", value: 1, ts: Date.now() - 1_000 + n++ }] } }),
  "ingest.postSensorReadings": () => ({ method: "POST", path: "/api/v1/sensors/mx-1/readings", body: { value: 1, ts: Date.now() - 2_000 + n++ } }),
  "ingest.postIngestReadings": () => ({ method: "POST", path: "/ingest/readings", body: { sensor: "mx-1", value: 1, ts: Date.now() - 3_000 + n++ } }),
  "ingest.postDeviceReadings": () => ({ method: "POST", path: "/devices/mx-1/readings", body: { value: 1, ts: Date.now() - 4_000 + n++ } }),
  "sensors.list": () => ({ method: "GET", path: "/api/v1/sensors" }),
  "sensors.get": () => ({ method: "GET", path: "/api/v1/sensors/mx-1" }),
  "sensors.history": () => ({ method: "GET", path: "/api/v1/sensors/mx-1/readings" }),
  "aggregates.sensor": () => ({ method: "GET", path: `/api/v1/sensors/mx-1/aggregates?interval=1h&from=${Date.now() - 3_600_000}` }),
  "reports.report": () => ({ method: "GET", path: "/api/v1/reports?period=custom&prefix=mx-&from=0" }),
  "aggregates.many": () => ({ method: "GET", path: `/api/v1/aggregates?interval=1h&prefix=mx-&from=${Date.now() - 3_600_000}` }),
  "sensors.put": () => ({ method: "PUT", path: "/api/v1/sensors/mx-2", body: {} }),
  "sensors.delete": () => ({ method: "DELETE", path: "/api/v1/sensors/never-there" }),
  "alerts.list": () => ({ method: "GET", path: "/api/v1/alerts" }),
  "alerts.get": () => ({ method: "GET", path: "/api/v1/alerts/999999" }),
  "alerts.ack": () => ({ method: "POST", path: "/api/v1/alerts/999999/ack", body: {} }),
  "alerts.resolve": () => ({ method: "POST", path: "/api/v1/alerts/999999/resolve", body: {} }),
  "webhooks.list": () => ({ method: "GET", path: "/api/v1/webhooks" }),
  "webhooks.put": () => ({ method: "PUT", path: "/api/v1/webhooks/w1", body: { url: "http://127.0.0.1:9/hook", secret: "0123456789abcdef" } }),
  "webhooks.delete": () => ({ method: "DELETE", path: "/api/v1/webhooks/never-there" }),
  "webhooks.deadLetters": () => ({ method: "GET", path: "/api/v1/dead-letters" }),
  "webhooks.replay": () => ({ method: "POST", path: "/api/v1/webhooks/never-there/replay" }),
  "keys.create": () => ({ method: "POST", path: "/api/v1/keys", body: { kind: "service", name: `matrix-${n++}`, role: "viewer" } }),
  "keys.list": () => ({ method: "GET", path: "/api/v1/keys" }),
  "keys.revoke": () => ({ method: "DELETE", path: "/api/v1/keys/key_never" }),
  "tenants.create": () => ({ method: "POST", path: "/api/v1/tenants", body: { id: `t-${n++}`, name: "matrix" } }),
  "tenants.list": () => ({ method: "GET", path: "/api/v1/tenants" }),
  "me.get": () => ({ method: "GET", path: "/api/v1/me" }),
  "system.health": () => ({ method: "GET", path: "/health" }),
  "system.ready": () => ({ method: "GET", path: "/ready" }),
  "system.metrics": () => ({ method: "GET", path: "/metrics" })
}

/**
 * What each caller gets from each endpoint, written from the README's roles table (Security), not
 * from the policy in the code: a change of policy shows up here. "through" = past authentication and
 * authorization (the handler answers, whatever it answers).
 */
const CALLERS = ["nobody", "device", "viewer", "operator", "jwt operator", "admin", "bootstrap"] as const
type Expected = "through" | 401 | 403
const T = "through"
//                                       nobody device viewer operator jwt-op admin bootstrap
const PUBLIC: ReadonlyArray<Expected> = [T, T, T, T, T, T, T] // health, readiness, metrics (METRICS_PUBLIC=true)
const INGEST: ReadonlyArray<Expected> = [401, T, 403, T, T, T, T] // a device key, or a service of role operator and above
const READ: ReadonlyArray<Expected> = [401, 403, T, T, T, T, T] // viewer: read sensors, history, alerts
const OPERATE: ReadonlyArray<Expected> = [401, 403, 403, T, T, T, T] // operator: edit sensors, ack/resolve alerts, dead letters
const ADMINISTER: ReadonlyArray<Expected> = [401, 403, 403, 403, 403, T, T] // admin: webhooks, keys of its tenant
const SUPERUSER: ReadonlyArray<Expected> = [401, 403, 403, 403, 403, 403, T] // the bootstrap key: tenants
const ANY: ReadonlyArray<Expected> = [401, T, T, T, T, T, T] // any credential: who am I
const EXPECTED: Record<string, ReadonlyArray<Expected>> = {
  "ingest.postReadings": INGEST,
  "ingest.postSensorReadings": INGEST,
  "ingest.postIngestReadings": INGEST,
  "ingest.postDeviceReadings": INGEST,
  "sensors.list": READ,
  "sensors.get": READ,
  "sensors.history": READ,
  "aggregates.sensor": READ,
  "aggregates.many": READ,
  "reports.report": READ,
  "sensors.put": OPERATE,
  "sensors.delete": OPERATE,
  "alerts.list": READ,
  "alerts.get": READ,
  "alerts.ack": OPERATE,
  "alerts.resolve": OPERATE,
  "webhooks.list": ADMINISTER,
  "webhooks.put": ADMINISTER,
  "webhooks.delete": ADMINISTER,
  "webhooks.deadLetters": OPERATE,
  "webhooks.replay": ADMINISTER,
  "keys.create": ADMINISTER,
  "keys.list": ADMINISTER,
  "keys.revoke": ADMINISTER,
  "tenants.create": SUPERUSER,
  "tenants.list": SUPERUSER,
  "me.get": ANY,
  "system.health": PUBLIC,
  "system.ready": PUBLIC,
  "system.metrics": PUBLIC
}

describe("authentication and roles (AUTH_MODE=required)", () => {
  let db: TestDatabase
  let node: RunningNode
  let other: RunningNode
  const keys: Record<string, string> = {}

  const env = () => ({
    DATABASE_URL: db.url,
    AUTH_MODE: "required",
    AUTH_PEPPER: PEPPER,
    AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
    AUTH_CACHE_TTL_MS: String(TTL_MS),
    JWT_SECRET,
    METRICS_PUBLIC: "true",
    WRITER_FLUSH_MS: "5"
  })

  const createKey = async (body: Record<string, unknown>, by = BOOTSTRAP) => {
    const r = await call(node.url, "POST", "/api/v1/keys", by, body)
    expect(r.status, JSON.stringify(r.body)).toBe(201)
    return r.body as { id: string; key: string; hint: string }
  }

  beforeAll(async () => {
    db = await createTestDatabase("auth")
    node = await startNode(env())
    other = await startNode(env())
    expect((await call(node.url, "POST", "/api/v1/tenants", BOOTSTRAP, { id: "acme", name: "Acme Water" })).status).toBe(201)
    for (const role of ["viewer", "operator", "admin"]) keys[role] = (await createKey({ kind: "service", name: role, role, tenant: "acme" })).key
    keys.device = (await createKey({ kind: "device", name: "gateway", tenant: "acme" })).key
    keys.jwt = await new SignJWT({ tenant: "acme", role: "operator" }).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setExpirationTime("5m").sign(new TextEncoder().encode(JWT_SECRET))
  }, 60_000)

  afterAll(async () => {
    await other?.stop()
    await node?.stop()
    await db?.drop()
  })

  it("answers 401 with WWW-Authenticate and a message saying what to send; health, readiness, metrics and the API document stay public", async () => {
    const r = await call(node.url, "GET", "/api/v1/sensors", null)
    expect(r.status).toBe(401)
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="flowmesh"')
    expect(r.body).toEqual({ error: "unauthorized", message: expect.stringContaining("missing credentials: send Authorization: Bearer") })
    expect((await call(node.url, "GET", "/api/v1/sensors", "fmd_unknownunknownunknownunknownunknownunknown0")).body?.message).toContain("unknown or revoked key")
    expect((await call(node.url, "GET", "/api/v1/sensors", "not.a.jwt")).body?.message).toMatch(/^GET \/api\/v1\/sensors: token:/)
    for (const path of ["/health", "/ready", "/metrics"]) expect((await call(node.url, "GET", path, null)).status).toBe(200)
    expect((await fetch(`${node.url}/openapi.json`)).status).toBe(200)
  })

  it("requires a viewer for /metrics with METRICS_PUBLIC=false; health and readiness stay public", async () => {
    const closed = await startNode({ ...env(), METRICS_PUBLIC: "false" })
    try {
      const anonymous = await call(closed.url, "GET", "/metrics", null)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="flowmesh"')
      expect((await call(closed.url, "GET", "/metrics", keys.device!)).status).toBe(403)
      const viewer = await fetch(`${closed.url}/metrics`, { headers: { authorization: `Bearer ${keys.viewer}` } })
      expect(viewer.status).toBe(200)
      expect(await viewer.text()).toContain("# TYPE flowmesh_readings_total counter")
      for (const path of ["/health", "/ready"]) expect((await call(closed.url, "GET", path, null)).status).toBe(200)
    } finally {
      await closed.stop()
    }
  })

  it("sends the security headers on every API answer", async () => {
    for (const credential of [null, keys.viewer!]) {
      const r = await call(node.url, "GET", "/api/v1/sensors", credential)
      expect(r.headers.get("x-content-type-options")).toBe("nosniff")
      expect(r.headers.get("x-frame-options")).toBe("DENY")
      expect(r.headers.get("content-security-policy")).toContain("default-src 'none'")
      expect(r.headers.get("referrer-policy")).toBe("no-referrer")
      expect(r.headers.get("cache-control")).toBe("no-store")
    }
  })

  it("lets every caller reach exactly the endpoints its role allows (401 / 403 / through)", async () => {
    // Every endpoint of the API has a request and an expected row: one added later cannot go untested.
    expect(Object.keys(REQUESTS).sort()).toEqual(Object.keys(ACCESS).sort())
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(ACCESS).sort())
    const credentials: Record<(typeof CALLERS)[number], string | null> = {
      nobody: null,
      device: keys.device!,
      viewer: keys.viewer!,
      operator: keys.operator!,
      "jwt operator": keys.jwt!,
      admin: keys.admin!,
      bootstrap: BOOTSTRAP
    }
    const wrong: Array<string> = []
    let tried = 0
    for (const [endpoint, make] of Object.entries(REQUESTS)) {
      for (const [i, caller] of CALLERS.entries()) {
        const { method, path, body } = make()
        const r = await call(node.url, method, path, credentials[caller], body)
        tried++
        const expected = EXPECTED[endpoint]?.[i]
        const got = r.status === 401 || r.status === 403 ? r.status : r.status >= 500 ? `5xx ${r.status}` : "through"
        if (got !== expected) wrong.push(`${caller} ${method} ${path}: expected ${expected}, got ${r.status} ${JSON.stringify(r.body)}`)
      }
    }
    expect(wrong).toEqual([])
    expect(tried).toBe(Object.keys(ACCESS).length * CALLERS.length)
    expect((await call(node.url, "POST", "/api/v1/alerts/1/ack", keys.viewer!, {})).body).toEqual({
      error: "forbidden",
      message: "POST /api/v1/alerts/1/ack: needs role operator; the caller has role viewer"
    })
  }, 60_000)

  it("tells each credential who it is, never a secret", async () => {
    const me = async (credential: string) => {
      const r = await call(node.url, "GET", "/api/v1/me", credential)
      expect(r.status).toBe(200)
      expect(JSON.stringify(r.body)).not.toContain(credential)
      return r.body
    }
    expect(await me(keys.viewer!)).toEqual({ kind: "service", id: expect.stringMatching(/^key_/), tenant: "acme", role: "viewer", superuser: false, authMode: "required" })
    expect(await me(keys.device!)).toMatchObject({ kind: "device", tenant: "acme", role: null, superuser: false })
    expect(await me(keys.jwt!)).toEqual({ kind: "user", id: "alice", tenant: "acme", role: "operator", superuser: false, authMode: "required" })
    expect(await me(BOOTSTRAP)).toMatchObject({ kind: "bootstrap", superuser: true, role: "admin" })
  })

  it("shows a key once: listings carry its hint and who created it, never the key or its hash", async () => {
    const created = await createKey({ kind: "service", name: "listed", role: "viewer" }, keys.admin!)
    const listed = await call(node.url, "GET", "/api/v1/keys", keys.admin!)
    const text = JSON.stringify(listed.body)
    expect(text).not.toContain(created.key)
    expect(text).not.toMatch(/[0-9a-f]{64}/)
    expect(listed.body?.keys).toContainEqual(expect.objectContaining({ id: created.id, hint: created.hint, tenant: "acme", createdBy: expect.stringMatching(/^service:key_/) }))
    const stored = await node.sql<{ hash: string }>("select hash from api_keys where id = $1", [created.id])
    expect(stored[0]?.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(JSON.stringify(stored)).not.toContain(created.key)
  })

  it("refuses key requests whose fields do not fit, naming the field; an admin cannot issue keys in another tenant", async () => {
    const bad = await call(node.url, "POST", "/api/v1/keys", keys.admin!, { kind: "device", name: "d", role: "admin" })
    expect(bad.status).toBe(400)
    expect(bad.body?.message).toMatch(/^role: a device key has no role/)
    const foreign = await call(node.url, "POST", "/api/v1/keys", keys.admin!, { kind: "service", name: "x", role: "admin", tenant: "default" })
    expect(foreign.status).toBe(404)
    const unknownField = await call(node.url, "POST", "/api/v1/keys", keys.admin!, { kind: "service", name: "x", role: "admin", admin: true })
    expect(unknownField.status).toBe(400)
  })

  it("lets a device key bound to a prefix write only those sensors, over HTTP and WebSocket, and counts the rest", async () => {
    const bound = await createKey({ kind: "device", name: "site-1 gateway", sensorPrefix: "site-1/" }, keys.admin!)
    const before = await counterValue(node.url, 'flowmesh_readings_total{transport="http",outcome="not_permitted"}')
    const ts = Date.now() - 10_000
    const r = await call(node.url, "POST", "/api/v1/readings", bound.key, {
      readings: [
        { sensor: "site-1/flow", value: 1, ts },
        { sensor: "site-2/flow", value: 2, ts },
        { sensor: "site-1/flow", value: 3, ts: ts + 1 }
      ]
    })
    expect(r.status).toBe(202)
    expect(r.body).toMatchObject({ accepted: 2, durable: true, rejected: [{ index: 1, sensor: "site-2/flow", reason: "not_permitted" }] })
    expect(await metricValue(node.url, 'flowmesh_readings_total{transport="http",outcome="not_permitted"}')).toBe(before + 1)
    const stored = await node.sql<{ id: string; n: string }>(
      "select s.id, count(*)::text as n from readings r join sensors s on s.key = r.sensor_key where s.tenant = 'acme' and s.id like 'acme~site-%' group by s.id"
    )
    // Inside the node the sensor carries its tenant (src/domain/tenancy.ts).
    expect(stored).toEqual([{ id: "acme~site-1/flow", n: "2" }])
    const allOut = await call(node.url, "POST", "/api/v1/readings", bound.key, { readings: [{ sensor: "site-3/x", value: 1 }] })
    expect(allOut.status).toBe(202)
    expect(allOut.body).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: "not_permitted" }] })

    const listed = await createKey({ kind: "device", name: "two sensors", sensors: ["list-1", "list/2"] }, keys.admin!)
    const byList = await call(node.url, "POST", "/api/v1/readings", listed.key, {
      readings: [
        { sensor: "list/2", value: 1, ts },
        { sensor: "list-3", value: 1, ts }
      ]
    })
    expect(byList.body).toMatchObject({ accepted: 1, rejected: [{ index: 1, sensor: "list-3", reason: "not_permitted" }] })
    expect((await node.sql<{ sensors: Array<string> }>("select sensors from api_keys where id = $1", [listed.id]))[0]?.sensors).toEqual(["list-1", "list/2"])

    const device = await openSocket(wsUrl(node.url, "/ws/devices"), { headers: { "x-device-key": bound.key } })
    device.send({ type: "readings", seq: 1, readings: [{ sensor: "site-1/ws", value: 1, ts }, { sensor: "site-9/ws", value: 2, ts }] })
    const ack = await device.next((f) => f.type === "ack" && f.seq === 1)
    expect(ack).toMatchObject({ accepted: 1, rejected: [{ index: 1, sensor: "site-9/ws", reason: "not_permitted" }] })
    await device.close()
  })

  it("refuses WebSocket upgrades without a credential (401) or with the wrong kind (403); browsers may pass ?access_token= or a flowmesh.bearer. subprotocol", async () => {
    await expect(openSocket(wsUrl(node.url, "/ws/devices"))).rejects.toMatchObject({ status: 401 })
    await expect(openSocket(wsUrl(node.url, "/ws/live"), { headers: { authorization: `Bearer ${keys.device}` } })).rejects.toMatchObject({ status: 403 })
    await expect(openSocket(wsUrl(node.url, "/ws/devices"), { headers: { authorization: `Bearer ${keys.viewer}` } })).rejects.toMatchObject({ status: 403 })
    const live = await openSocket(wsUrl(node.url, `/ws/live?access_token=${encodeURIComponent(keys.viewer!)}`))
    live.send({ type: "subscribe", sensors: ["mx-1"] })
    expect(await live.next((f) => f.type === "subscribed")).toBeTruthy()
    await live.close()
    // Or, out of the URL, as a subprotocol beside flowmesh.v1, which is what the node answers.
    const bearer = (key: string) => [WS_PROTOCOL, `${WS_BEARER_PREFIX}${Buffer.from(key).toString("base64url")}`]
    const raw = new WebSocket(wsUrl(node.url, "/ws/live"), bearer(keys.viewer!))
    await new Promise<void>((opened, failed) => {
      raw.once("open", () => opened())
      raw.once("error", failed)
    })
    expect(raw.protocol).toBe(WS_PROTOCOL)
    raw.close()
    await expect(openSocket(wsUrl(node.url, "/ws/live"), { headers: { "sec-websocket-protocol": bearer("fms_wrong").join(", ") } })).rejects.toMatchObject({ status: 401 })
  })

  it("refuses a revoked key at once on the node that revoked it, and within the cache TTL on another node", async () => {
    const victim = await createKey({ kind: "service", name: "to revoke", role: "viewer" }, keys.admin!)
    expect((await call(node.url, "GET", "/api/v1/sensors", victim.key)).status).toBe(200)
    // The other node looks the key up (and caches it) during this request at the latest.
    expect((await call(other.url, "GET", "/api/v1/sensors", victim.key)).status).toBe(200)
    const cachedUntil = Date.now() + TTL_MS
    expect((await call(node.url, "DELETE", `/api/v1/keys/${victim.id}`, keys.admin!)).status).toBe(204)
    expect((await call(node.url, "GET", "/api/v1/sensors", victim.key)).status).toBe(401)
    // Whatever the other node cached has expired by then: its next answer must be a refusal.
    await new Promise((r) => setTimeout(r, Math.max(0, cachedUntil - Date.now())))
    expect((await call(other.url, "GET", "/api/v1/sensors", victim.key)).status).toBe(401)
    expect((await call(node.url, "DELETE", `/api/v1/keys/${victim.id}`, keys.admin!)).status).toBe(404)
  })

  it("refuses an expired token and a token signed with another secret, saying why", async () => {
    const secret = new TextEncoder().encode(JWT_SECRET)
    const expired = await new SignJWT({ tenant: "acme", role: "admin" }).setProtectedHeader({ alg: "HS256" }).setSubject("a").setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secret)
    expect((await call(node.url, "GET", "/api/v1/sensors", expired)).body?.message).toBe("GET /api/v1/sensors: token: expired")
    const forged = await new SignJWT({ tenant: "acme", role: "admin" }).setProtectedHeader({ alg: "HS256" }).setSubject("a").setExpirationTime("1m").sign(new TextEncoder().encode("f".repeat(40)))
    expect((await call(node.url, "GET", "/api/v1/sensors", forged)).status).toBe(401)
  })
})
