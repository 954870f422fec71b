/**
 * Tenant isolation end to end, AUTH_MODE=required, on real PostgreSQL and Redis. Two tenants (acme,
 * beta) and the default tenant use the same sensor and webhook ids; each sees, writes and watches
 * only its own, over HTTP, WebSocket devices and WebSocket live. Another tenant's sensor, alert or
 * webhook answers 404 (never 403, which would say it exists), whatever the caller's role, and even
 * when the caller spells the id the node keeps inside (`acme~site-1/flow`).
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ACCESS, authorize } from "../../src/http/auth/policy.js"
import { ALL_SENSORS, type Principal } from "../../src/http/auth/principal.js"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { type HookReceiver, startHookReceiver, until } from "../support/hook-receiver.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
import { type Frame, openSocket, type TestSocket, wsUrl } from "../support/ws-client.js"

const PEPPER = "pepper-pepper-pepper-pepper-pepper-1"
const BOOTSTRAP = "bootstrap-admin-key-of-at-least-32-characters-t"
const STREAM = `flowmesh:test:tenants:${process.pid}`
const SHARED = "site-1/flow"
const TENANTS = ["acme", "beta"] as const
type Tenant = (typeof TENANTS)[number]
type Role = "viewer" | "operator" | "admin" | "device"

interface Answer {
  readonly status: number
  readonly body: Record<string, unknown> | null
}

const call = async (url: string, method: string, path: string, key: string, body?: unknown): Promise<Answer> => {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? null : (JSON.parse(text) as Record<string, unknown>) }
}

/** An array field of an answer's body (empty when absent). */
const listOf = <A>(a: Answer, field: string): Array<A> => {
  const v = a.body?.[field]
  return Array.isArray(v) ? v : []
}


describe("tenant isolation", () => {
  let db: TestDatabase
  let node: RunningNode
  let receiver: HookReceiver<Record<string, unknown>>
  let redis: Redis
  let hooks: HookReceiver<Record<string, unknown>>["received"] = []
  const keys = {} as Record<Tenant, Record<Role, string>>
  let t = Date.now() - 600_000
  const nextTs = () => {
    t += 10
    return t
  }

  const as = (tenant: Tenant, role: Role) => keys[tenant][role]
  /** Set by the alerts test: an alert of acme's that the matrix tries to reach from elsewhere. */
  let acmeAlertId = 0
  const write = async (tenant: Tenant, sensor: string, values: ReadonlyArray<number>) => {
    const readings = values.map((value) => ({ sensor, value, ts: nextTs() }))
    const r = await call(node.url, "POST", "/api/v1/readings?ack=durable", as(tenant, "device"), { readings })
    expect(r.status, JSON.stringify(r.body)).toBe(202)
    expect(r.body).toMatchObject({ accepted: values.length, rejected: [] })
  }
  const history = async (tenant: Tenant, sensor: string) => {
    const r = await call(node.url, "GET", `/api/v1/sensors/${encodeURIComponent(sensor)}/readings`, as(tenant, "viewer"))
    expect(r.status).toBe(200)
    return listOf<{ value: number }>(r, "readings").map((x) => x.value)
  }
  const live = async (key: string, subscribe: Record<string, unknown>): Promise<TestSocket> => {
    const socket = await openSocket(wsUrl(node.url, "/ws/live"), { headers: { authorization: `Bearer ${key}` } })
    socket.send({ type: "subscribe", ...subscribe })
    await socket.next((f) => f.type === "subscribed")
    return socket
  }
  const readingsOf = (frames: ReadonlyArray<Frame>) =>
    frames.flatMap((f) => (f.type === "readings" ? (f.sensors as Array<{ sensor: string; values: Array<number> }>) : []))

  beforeAll(async () => {
    receiver = await startHookReceiver<Record<string, unknown>>()
    hooks = receiver.received
    redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true })
    await redis.connect()
    db = await createTestDatabase("tenants")
    node = await startNode({
      DATABASE_URL: db.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      AUTH_MODE: "required",
      AUTH_PEPPER: PEPPER,
      AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
      ALERT_STREAM_KEY: STREAM,
      ALERT_UPDATE_INTERVAL_MS: "100",
      LIVE_INTERVAL_MS: "10",
      WRITER_FLUSH_MS: "5"
    })
    for (const tenant of TENANTS) {
      expect((await call(node.url, "POST", "/api/v1/tenants", BOOTSTRAP, { id: tenant, name: tenant })).status).toBe(201)
      const issue = async (body: Record<string, unknown>) => {
        const r = await call(node.url, "POST", "/api/v1/keys", BOOTSTRAP, { ...body, tenant })
        expect(r.status, JSON.stringify(r.body)).toBe(201)
        return String(r.body?.key)
      }
      keys[tenant] = {
        viewer: await issue({ kind: "service", name: "viewer", role: "viewer" }),
        operator: await issue({ kind: "service", name: "operator", role: "operator" }),
        admin: await issue({ kind: "service", name: "admin", role: "admin" }),
        device: await issue({ kind: "device", name: "gateway" })
      }
    }
  }, 60_000)

  afterAll(async () => {
    await node?.stop()
    await db?.drop()
    await redis?.del(STREAM)
    redis?.disconnect()
    receiver?.close()
  })

  it("keeps the same sensor id apart per tenant over HTTP: writes, state, history and listings", async () => {
    await write("acme", SHARED, [1, 2, 3])
    await write("beta", SHARED, [100])
    await write("acme", "acme-only/x", [7])
    expect(await history("acme", SHARED)).toEqual([3, 2, 1])
    expect(await history("beta", SHARED)).toEqual([100])
    const acme = await call(node.url, "GET", `/api/v1/sensors/${encodeURIComponent(SHARED)}`, as("acme", "viewer"))
    expect(acme.body).toMatchObject({ id: SHARED, state: { sensor: SHARED, lastValue: 3 } })
    const listed = async (tenant: Tenant, query = "") =>
      listOf<{ id: string }>(await call(node.url, "GET", `/api/v1/sensors${query}`, as(tenant, "viewer")), "sensors").map((s) => s.id)
    expect(await listed("acme")).toEqual(["acme-only/x", SHARED])
    expect(await listed("beta")).toEqual([SHARED])
    expect(await listed("acme", "?limit=1")).toEqual(["acme-only/x"])
    expect((await call(node.url, "GET", "/api/v1/sensors?limit=1", as("acme", "viewer"))).body?.next).toBe("acme-only/x")
    expect(await listed("acme", "?after=acme-only%2Fx")).toEqual([SHARED])
    // The default tenant (the bootstrap key's) sees none of them.
    expect((await call(node.url, "GET", "/api/v1/sensors", BOOTSTRAP)).body?.sensors).toEqual([])
    // Stored once per tenant, the tenant spelt out in the row.
    const rows = await node.sql<{ id: string; tenant: string }>("select id, tenant from sensors order by id")
    expect(rows).toEqual([
      { id: "acme~acme-only/x", tenant: "acme" },
      { id: `acme~${SHARED}`, tenant: "acme" },
      { id: `beta~${SHARED}`, tenant: "beta" }
    ])
  })

  it("answers 404 for another tenant's sensor to every role, also when named by its id inside the node", async () => {
    const foreign = ["acme-only/x", "acme~acme-only/x", "default~acme~acme-only/x"]
    const tried: Array<string> = []
    for (const sensor of foreign) {
      const path = `/api/v1/sensors/${encodeURIComponent(sensor)}`
      for (const [key, who] of [
        [as("beta", "admin"), "beta admin"],
        [as("beta", "viewer"), "beta viewer"],
        [BOOTSTRAP, "bootstrap (default tenant)"]
      ] as const) {
        for (const [method, suffix] of [
          ["GET", ""],
          ["GET", "/readings"],
          ["DELETE", ""]
        ] as const) {
          if (method === "DELETE" && who === "beta viewer") continue
          const r = await call(node.url, method, path + suffix, key)
          tried.push(`${who} ${method} ${sensor}${suffix}: ${r.status}`)
          expect(r.status, `${who} ${method} ${sensor}${suffix}`).toBe(404)
        }
      }
    }
    expect(tried).toHaveLength(24)
    // A prefix that spells another tenant finds nothing; the sensor is still there for its own tenant.
    expect((await call(node.url, "GET", "/api/v1/sensors?prefix=acme~", BOOTSTRAP)).body?.sensors).toEqual([])
    expect((await call(node.url, "GET", "/api/v1/sensors/acme-only%2Fx", as("acme", "viewer"))).status).toBe(200)
    // PUT by beta writes beta's own sensor of that name, not acme's config.
    expect((await call(node.url, "PUT", "/api/v1/sensors/acme-only%2Fx", as("beta", "operator"), { throttleRate: 5, throttleBurst: 5 })).status).toBe(200)
    const acmeView = await call(node.url, "GET", "/api/v1/sensors/acme-only%2Fx", as("acme", "viewer"))
    expect(acmeView.body?.overrides).toEqual({})
    // An id that cannot exist is refused where a sensor would be created.
    const made = await call(node.url, "PUT", "/api/v1/sensors/acme~evil", as("beta", "operator"), {})
    expect(made.status).toBe(400)
    const posted = await call(node.url, "POST", "/api/v1/readings", as("beta", "device"), { readings: [{ sensor: "acme~evil", value: 1 }] })
    expect(posted.status).toBe(422)
    expect(String(posted.body?.message)).toMatch(/^readings\[0\]\.sensor: /)
  })

  it("keeps WebSocket devices to their tenant: acks name the tenant's ids and the readings land in its sensor only", async () => {
    const device = await openSocket(wsUrl(node.url, "/ws/devices?ack=durable"), { headers: { "x-device-key": as("beta", "device") } })
    device.send({ type: "readings", seq: 2, readings: [{ sensor: SHARED, value: 200, ts: nextTs() }, { sensor: SHARED, value: 201, ts: t - 5_000 }] })
    const ack2 = await device.next((f) => f.type === "ack" && f.seq === 2)
    expect(ack2).toMatchObject({ accepted: 1, durable: true, rejected: [{ index: 1, sensor: SHARED, reason: "out_of_order" }] })
    device.send({ type: "readings", seq: 3, readings: [{ sensor: "acme~acme-only/x", value: 1, ts: nextTs() }] })
    expect(await device.next((f) => f.type === "error" && f.seq === 3)).toMatchObject({ code: "validation_failed" })
    await device.close()
    expect(await history("beta", SHARED)).toEqual([200, 100])
    expect(await history("acme", SHARED)).toEqual([3, 2, 1])
    expect(await history("acme", "acme-only/x")).toEqual([7])
  })

  it("streams each dashboard its own tenant's readings only, by the ids it knows, exact or by prefix", async () => {
    const acme = await live(as("acme", "viewer"), { sensors: [SHARED, "site-*"] })
    const beta = await live(as("beta", "viewer"), { sensors: [SHARED, "site-*", "acme-only/x"] })
    // A default-tenant dashboard whose prefix is also the start of "acme~…" inside the node.
    const outsider = await live(BOOTSTRAP, { sensors: ["acme*", "a*", SHARED] })
    const confirmed = beta.frames.find((f) => f.type === "subscribed")?.sensors as Array<{ sensor: string; state: { sensor: string; lastValue: number } | null }>
    // Beta's own sensors with their own state (beta configured its own "acme-only/x" above, never wrote it).
    expect(confirmed).toEqual([
      { sensor: SHARED, state: expect.objectContaining({ sensor: SHARED, lastValue: 200 }) },
      { sensor: "acme-only/x", state: expect.objectContaining({ sensor: "acme-only/x", lastValue: null }) }
    ])
    await write("acme", SHARED, [4])
    await write("acme", "acme-only/x", [8])
    await write("beta", SHARED, [300])
    const acmeGot = await acme.collect((f) => f.type === "readings", 1)
    const betaGot = await beta.collect((f) => f.type === "readings", 1)
    // Let anything misrouted arrive before judging.
    await new Promise((r) => setTimeout(r, 300))
    expect(readingsOf(acmeGot).every((s) => s.sensor === SHARED && !s.values.includes(300))).toBe(true)
    expect(readingsOf(acme.frames).flatMap((s) => s.values)).toEqual([4])
    expect(readingsOf(beta.frames)).toEqual([expect.objectContaining({ sensor: SHARED, values: [300] })])
    expect(readingsOf(betaGot).length).toBe(1)
    expect(readingsOf(outsider.frames)).toEqual([])
    for (const s of [acme, beta, outsider]) await s.close()
  })

  it("keeps alerts to their tenant: API, dashboards, webhooks and the Redis stream, with the tenant's ids", async () => {
    const port = receiver.port
    for (const tenant of TENANTS) {
      const hook = await call(node.url, "PUT", "/api/v1/webhooks/ops", as(tenant, "admin"), { url: `http://127.0.0.1:${port}/${tenant}`, secret: "0123456789abcdef" })
      expect(hook.status, JSON.stringify(hook.body)).toBe(200)
      expect(hook.body?.id).toBe("ops")
      const rules = await call(node.url, "PUT", `/api/v1/sensors/${encodeURIComponent(SHARED)}`, as(tenant, "operator"), {
        rules: [{ id: "high", kind: "threshold", high: 90, severity: "critical" }]
      })
      expect(rules.status, JSON.stringify(rules.body)).toBe(200)
    }
    expect(listOf<{ id: string; url: string }>(await call(node.url, "GET", "/api/v1/webhooks", as("beta", "admin")), "webhooks").map((w) => [w.id, w.url])).toEqual([
      ["ops", `http://127.0.0.1:${port}/beta`]
    ])
    const acmeAlerts = await live(as("acme", "viewer"), { alerts: true })
    const betaAlerts = await live(as("beta", "viewer"), { alerts: true })
    const outsider = await live(BOOTSTRAP, { alerts: true })

    await write("acme", SHARED, [95])
    const opened = await acmeAlerts.next((f) => f.type === "alert")
    const notification = opened.notification as { tenant: string; notifier: string; alert: { id: number; sensor: string; notifier: string } }
    expect(notification).toMatchObject({ tenant: "acme", notifier: "site-1", alert: { sensor: SHARED, notifier: "site-1" } })
    const id = notification.alert.id
    acmeAlertId = id
    const hook = await until("acme's webhook", async () => hooks.find((h) => h.path === "/acme"))
    expect(hook.body).toMatchObject({ tenant: "acme", notifier: "site-1", alert: { id, sensor: SHARED } })
    const entries = await until("the stream entry", async () => {
      const e = await redis.xrange(STREAM, "-", "+")
      return e.length > 0 ? e : undefined
    })
    const flat = entries[0]![1]
    const fields: Record<string, string> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!
    expect(fields).toMatchObject({ tenant: "acme", notifier: "site-1", sensor: SHARED })

    const alertsOf = async (tenant: Tenant) => listOf<{ id: number; sensor: string }>(await call(node.url, "GET", "/api/v1/alerts", as(tenant, "viewer")), "alerts")
    expect(await alertsOf("acme")).toEqual([expect.objectContaining({ id, sensor: SHARED, notifier: "site-1" })])
    expect(await alertsOf("beta")).toEqual([])
    expect((await call(node.url, "GET", `/api/v1/alerts?sensor=${encodeURIComponent(SHARED)}`, as("beta", "viewer"))).body?.alerts).toEqual([])
    for (const [method, path] of [
      ["GET", `/api/v1/alerts/${id}`],
      ["POST", `/api/v1/alerts/${id}/ack`],
      ["POST", `/api/v1/alerts/${id}/resolve`]
    ] as const) {
      for (const key of [as("beta", "admin"), BOOTSTRAP]) expect((await call(node.url, method, path, key, method === "POST" ? {} : undefined)).status, `${method} ${path}`).toBe(404)
    }
    const acked = await call(node.url, "POST", `/api/v1/alerts/${id}/ack`, as("acme", "operator"), { by: "alice" })
    expect(acked.status).toBe(200)
    // The label the caller gave, and the credential that acted.
    expect(acked.body).toMatchObject({ id, status: "acknowledged", sensor: SHARED, acknowledgedBy: expect.stringMatching(/^alice \(service:key_[\w-]+\)$/) })

    // Beta's sensor of the same name breaches on its own, later: its alert is beta's only.
    await write("beta", SHARED, [99])
    const betaOpened = await betaAlerts.next((f) => f.type === "alert")
    expect(betaOpened.notification).toMatchObject({ tenant: "beta", alert: { sensor: SHARED } })
    await until("beta's webhook", async () => hooks.find((h) => h.path === "/beta"))
    await new Promise((r) => setTimeout(r, 300))
    expect(acmeAlerts.frames.filter((f) => f.type === "alert").map((f) => (f.notification as { tenant: string }).tenant)).toEqual(["acme", "acme"])
    expect(betaAlerts.frames.filter((f) => f.type === "alert").map((f) => (f.notification as { tenant: string }).tenant)).toEqual(["beta"])
    expect(outsider.frames.filter((f) => f.type === "alert")).toEqual([])
    expect(hooks.filter((h) => h.path === "/acme").map((h) => h.body.tenant)).toEqual(["acme", "acme"])
    expect(hooks.filter((h) => h.path === "/beta").map((h) => h.body.tenant)).toEqual(["beta"])

    // Webhooks: the same id per tenant, neither reachable from the other.
    expect((await call(node.url, "DELETE", "/api/v1/webhooks/ops", BOOTSTRAP)).status).toBe(404)
    expect((await call(node.url, "POST", "/api/v1/webhooks/ops/replay", BOOTSTRAP)).status).toBe(404)
    expect((await call(node.url, "DELETE", "/api/v1/webhooks/ops", as("beta", "admin"))).status).toBe(204)
    expect(listOf(await call(node.url, "GET", "/api/v1/webhooks", as("acme", "admin")), "webhooks")).toHaveLength(1)
    for (const s of [acmeAlerts, betaAlerts, outsider]) await s.close()
  })

  it("answers every endpoint that names one of acme's resources with 404 for every role of another tenant (403 only where the role itself is refused)", async () => {
    expect(acmeAlertId).toBeGreaterThan(0)
    await write("acme", "acme-secret/y", [1])
    const acmeKey = (listOf<{ id: string }>(await call(node.url, "GET", "/api/v1/keys", as("acme", "admin")), "keys")[0]?.id) ?? ""
    const named: Record<string, { readonly method: string; readonly path: string; readonly body?: unknown }> = {
      "sensors.get": { method: "GET", path: "/api/v1/sensors/acme-secret%2Fy" },
      "sensors.history": { method: "GET", path: "/api/v1/sensors/acme-secret%2Fy/readings" },
      "sensors.delete": { method: "DELETE", path: "/api/v1/sensors/acme-secret%2Fy" },
      "alerts.get": { method: "GET", path: `/api/v1/alerts/${acmeAlertId}` },
      "alerts.ack": { method: "POST", path: `/api/v1/alerts/${acmeAlertId}/ack`, body: {} },
      "alerts.resolve": { method: "POST", path: `/api/v1/alerts/${acmeAlertId}/resolve`, body: {} },
      "webhooks.delete": { method: "DELETE", path: "/api/v1/webhooks/ops" },
      "webhooks.replay": { method: "POST", path: "/api/v1/webhooks/ops/replay" },
      "keys.revoke": { method: "DELETE", path: `/api/v1/keys/${acmeKey}` }
    }
    const callers: ReadonlyArray<{ readonly name: string; readonly key: string; readonly principal: Principal }> = [
      ...(["viewer", "operator", "admin"] as const).map((role) => ({
        name: `beta ${role}`,
        key: as("beta", role),
        principal: { kind: "service" as const, id: role, tenant: "beta", role, scope: ALL_SENSORS, superuser: false }
      })),
      { name: "beta device", key: as("beta", "device"), principal: { kind: "device", id: "d", tenant: "beta", role: null, scope: ALL_SENSORS, superuser: false } },
      { name: "bootstrap", key: BOOTSTRAP, principal: { kind: "bootstrap", id: "b", tenant: "default", role: "admin", scope: ALL_SENSORS, superuser: true } }
    ]
    const wrong: Array<string> = []
    for (const [endpoint, request] of Object.entries(named)) {
      for (const caller of callers) {
        const r = await call(node.url, request.method, request.path, caller.key, request.body)
        const expected = authorize(ACCESS[endpoint]!, caller.principal)._tag === "Allowed" ? 404 : 403
        if (r.status !== expected) wrong.push(`${caller.name} ${request.method} ${request.path}: expected ${expected}, got ${r.status} ${JSON.stringify(r.body)}`)
      }
    }
    expect(wrong).toEqual([])
    // Nothing of acme's was touched by the attempts.
    expect((await call(node.url, "GET", "/api/v1/sensors/acme-secret%2Fy", as("acme", "viewer"))).status).toBe(200)
    expect((await call(node.url, "GET", `/api/v1/alerts/${acmeAlertId}`, as("acme", "viewer"))).body).toMatchObject({ alert: { status: "acknowledged" } })
    expect(listOf(await call(node.url, "GET", "/api/v1/webhooks", as("acme", "admin")), "webhooks")).toHaveLength(1)
    expect(listOf(await call(node.url, "GET", "/api/v1/keys", as("acme", "admin")), "keys")).toHaveLength(4)
  })

  it("lists and revokes only the caller's tenant's keys", async () => {
    const acmeKeys = (await call(node.url, "GET", "/api/v1/keys", as("acme", "admin"))).body?.keys as Array<{ id: string; tenant: string }>
    expect(acmeKeys.length).toBe(4)
    expect(acmeKeys.every((k) => k.tenant === "acme")).toBe(true)
    expect((await call(node.url, "DELETE", `/api/v1/keys/${acmeKeys[0]!.id}`, as("beta", "admin"))).status).toBe(404)
    expect((await call(node.url, "GET", "/api/v1/sensors", as("acme", "viewer"))).status).toBe(200)
  })
})
