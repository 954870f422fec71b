/**
 * Tenant isolation end to end, AUTH_MODE=required, on real PostgreSQL and Redis. Two tenants (acme,
 * beta) and the default tenant use the same sensor and webhook ids; each sees, writes and watches
 * only its own, over HTTP, WebSocket devices and WebSocket live. Another tenant's sensor, alert or
 * webhook answers 404 (never 403, which would say it exists), whatever the caller's role, and even
 * when the caller spells the id the node keeps inside (`acme~site-1/flow`). Each test sets up the
 * sensors, alerts, webhooks and keys it looks at.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { type HookReceiver, startHookReceiver, until } from "../support/hook-receiver.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
import { type Frame, openSocket, type TestSocket, wsUrl } from "../support/ws-client.js"

const PEPPER = "pepper-pepper-pepper-pepper-pepper-1"
const BOOTSTRAP = "bootstrap-admin-key-of-at-least-32-characters-t"
const STREAM = `flowmesh:test:tenants:${process.pid}`
/** Every dashboard also watches this sensor of its own tenant: a reading of it that arrives says everything published before it has arrived. */
const MARKER = "marker/live"
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

/**
 * What another tenant's callers get from an endpoint that names one of acme's resources, written
 * from the README (Tenants, Security): 404 as if it did not exist, whatever the role, except where
 * the caller's role may not call the endpoint at all (403, which says nothing about the resource).
 */
const FOREIGN_CALLERS = ["beta viewer", "beta operator", "beta admin", "beta device", "bootstrap"] as const
//                                                  viewer operator admin device bootstrap
const FOREIGN: Record<string, ReadonlyArray<404 | 403>> = {
  "sensors.get": [404, 404, 404, 403, 404],
  "sensors.history": [404, 404, 404, 403, 404],
  "sensors.delete": [403, 404, 404, 403, 404],
  "alerts.get": [404, 404, 404, 403, 404],
  "alerts.ack": [403, 404, 404, 403, 404],
  "alerts.resolve": [403, 404, 404, 403, 404],
  "webhooks.delete": [403, 403, 404, 403, 404],
  "webhooks.replay": [403, 403, 404, 403, 404],
  "keys.revoke": [403, 403, 404, 403, 404]
}

describe("tenant isolation", () => {
  let db: TestDatabase
  let node: RunningNode
  let receiver: HookReceiver<Record<string, unknown>>
  let redis: Redis
  const keys = {} as Record<Tenant, Record<Role, string>>
  let t = Date.now() - 600_000
  const nextTs = () => {
    t += 10
    return t
  }

  const as = (tenant: Tenant, role: Role) => keys[tenant][role]
  /** A tenant's device key, or the bootstrap key for the default tenant. */
  const writerKey = (tenant: Tenant | "default") => (tenant === "default" ? BOOTSTRAP : as(tenant, "device"))
  const write = async (tenant: Tenant | "default", sensor: string, values: ReadonlyArray<number>) => {
    const readings = values.map((value) => ({ sensor, value, ts: nextTs() }))
    const r = await call(node.url, "POST", "/api/v1/readings?ack=durable", writerKey(tenant), { readings })
    expect(r.status, JSON.stringify(r.body)).toBe(202)
    expect(r.body).toMatchObject({ accepted: values.length, rejected: [] })
  }
  const configure = async (tenant: Tenant, sensor: string, config: Record<string, unknown>) => {
    const r = await call(node.url, "PUT", `/api/v1/sensors/${encodeURIComponent(sensor)}`, as(tenant, "operator"), config)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
  }
  const history = async (tenant: Tenant, sensor: string) => {
    const r = await call(node.url, "GET", `/api/v1/sensors/${encodeURIComponent(sensor)}/readings`, as(tenant, "viewer"))
    expect(r.status).toBe(200)
    return listOf<{ value: number }>(r, "readings").map((x) => x.value)
  }
  const alertsOf = async (tenant: Tenant, sensor: string) =>
    listOf<{ id: number; sensor: string; status: string }>(
      await call(node.url, "GET", `/api/v1/alerts?sensor=${encodeURIComponent(sensor)}`, as(tenant, "viewer")),
      "alerts"
    )

  interface Dashboard {
    readonly tenant: Tenant | "default"
    readonly socket: TestSocket
  }
  /** A dashboard of a tenant's viewer (or of the bootstrap key, in the default tenant); it also watches its tenant's marker. */
  const live = async (tenant: Tenant | "default", subscribe: { readonly sensors?: ReadonlyArray<string>; readonly alerts?: boolean }): Promise<Dashboard> => {
    const key = tenant === "default" ? BOOTSTRAP : as(tenant, "viewer")
    const socket = await openSocket(wsUrl(node.url, "/ws/live"), { headers: { authorization: `Bearer ${key}` } })
    socket.send({ type: "subscribe", sensors: [...(subscribe.sensors ?? []), MARKER], ...(subscribe.alerts === true ? { alerts: true } : {}) })
    await socket.next((f) => f.type === "subscribed")
    return { tenant, socket }
  }
  const readingsOf = (frames: ReadonlyArray<Frame>) =>
    frames.flatMap((f) => (f.type === "readings" ? (f.sensors as Array<{ sensor: string; values: Array<number> }>) : [])).filter((s) => s.sensor !== MARKER)
  const alertTenants = (d: Dashboard) => d.socket.frames.filter((f) => f.type === "alert").map((f) => (f.notification as { tenant: string }).tenant)
  let markers = 0
  /**
   * Writes a marker reading in each dashboard's tenant after everything the test sent, and waits
   * until every dashboard has it: a dashboard's frames keep the order items were published in, so
   * anything misrouted to it would have arrived before its marker.
   */
  const settle = async (...dashboards: ReadonlyArray<Dashboard>) => {
    const value = ++markers
    for (const tenant of new Set(dashboards.map((d) => d.tenant))) await write(tenant, MARKER, [value])
    const hasMarker = (f: Frame) =>
      f.type === "readings" && (f.sensors as Array<{ sensor: string; values: Array<number> }>).some((s) => s.sensor === MARKER && s.values.includes(value))
    for (const d of dashboards) await d.socket.next(hasMarker)
  }

  beforeAll(async () => {
    receiver = await startHookReceiver<Record<string, unknown>>()
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
    const shared = "http-1/flow"
    const acmeOnly = "http-1/acme-only"
    await write("acme", shared, [1, 2, 3])
    await write("beta", shared, [100])
    await write("acme", acmeOnly, [7])
    expect(await history("acme", shared)).toEqual([3, 2, 1])
    expect(await history("beta", shared)).toEqual([100])
    const acme = await call(node.url, "GET", `/api/v1/sensors/${encodeURIComponent(shared)}`, as("acme", "viewer"))
    expect(acme.body).toMatchObject({ id: shared, state: { sensor: shared, lastValue: 3 } })
    const listed = async (key: string, query = "") =>
      listOf<{ id: string }>(await call(node.url, "GET", `/api/v1/sensors?prefix=http-1%2F${query}`, key), "sensors").map((s) => s.id)
    expect(await listed(as("acme", "viewer"))).toEqual([acmeOnly, shared])
    expect(await listed(as("beta", "viewer"))).toEqual([shared])
    expect(await listed(as("acme", "viewer"), "&limit=1")).toEqual([acmeOnly])
    expect((await call(node.url, "GET", "/api/v1/sensors?prefix=http-1%2F&limit=1", as("acme", "viewer"))).body?.next).toBe(acmeOnly)
    expect(await listed(as("acme", "viewer"), `&after=${encodeURIComponent(acmeOnly)}`)).toEqual([shared])
    // The default tenant (the bootstrap key's) sees none of them.
    expect(await listed(BOOTSTRAP)).toEqual([])
    // Stored once per tenant, the tenant spelt out in the row.
    const rows = await node.sql<{ id: string; tenant: string }>("select id, tenant from sensors where id like '%http-1/%' order by id")
    expect(rows).toEqual([
      { id: `acme~${acmeOnly}`, tenant: "acme" },
      { id: `acme~${shared}`, tenant: "acme" },
      { id: `beta~${shared}`, tenant: "beta" }
    ])
  })

  it("answers 404 for another tenant's sensor to every role, also when named by its id inside the node", async () => {
    const acmeOnly = "probe-2/x"
    await write("acme", acmeOnly, [7])
    const foreign = [acmeOnly, `acme~${acmeOnly}`, `default~acme~${acmeOnly}`]
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
    expect((await call(node.url, "GET", `/api/v1/sensors/${encodeURIComponent(acmeOnly)}`, as("acme", "viewer"))).status).toBe(200)
    expect(await history("acme", acmeOnly)).toEqual([7])
    // PUT by beta writes beta's own sensor of that name, not acme's config.
    await configure("beta", acmeOnly, { throttleRate: 5, throttleBurst: 5 })
    const acmeView = await call(node.url, "GET", `/api/v1/sensors/${encodeURIComponent(acmeOnly)}`, as("acme", "viewer"))
    expect(acmeView.body?.overrides).toEqual({})
    // An id that cannot exist is refused where a sensor would be created.
    const made = await call(node.url, "PUT", "/api/v1/sensors/acme~evil", as("beta", "operator"), {})
    expect(made.status).toBe(400)
    const posted = await call(node.url, "POST", "/api/v1/readings", as("beta", "device"), { readings: [{ sensor: "acme~evil", value: 1 }] })
    expect(posted.status).toBe(422)
    expect(String(posted.body?.message)).toMatch(/^readings\[0\]\.sensor: /)
  })

  it("keeps WebSocket devices to their tenant: acks name the tenant's ids and the readings land in its sensor only", async () => {
    const shared = "ws-3/flow"
    const acmeOnly = "ws-3/acme-only"
    await write("acme", shared, [1, 2, 3])
    await write("beta", shared, [100])
    await write("acme", acmeOnly, [7])
    const device = await openSocket(wsUrl(node.url, "/ws/devices?ack=durable"), { headers: { "x-device-key": as("beta", "device") } })
    device.send({ type: "readings", seq: 2, readings: [{ sensor: shared, value: 200, ts: nextTs() }, { sensor: shared, value: 201, ts: t - 5_000 }] })
    const ack2 = await device.next((f) => f.type === "ack" && f.seq === 2)
    expect(ack2).toMatchObject({ accepted: 1, durable: true, rejected: [{ index: 1, sensor: shared, reason: "out_of_order" }] })
    device.send({ type: "readings", seq: 3, readings: [{ sensor: `acme~${acmeOnly}`, value: 1, ts: nextTs() }] })
    expect(await device.next((f) => f.type === "error" && f.seq === 3)).toMatchObject({ code: "validation_failed" })
    await device.close()
    expect(await history("beta", shared)).toEqual([200, 100])
    expect(await history("acme", shared)).toEqual([3, 2, 1])
    expect(await history("acme", acmeOnly)).toEqual([7])
  })

  it("streams each dashboard its own tenant's readings only, by the ids it knows, exact or by prefix", async () => {
    const shared = "site-4/flow"
    const acmeOnly = "acme-4/x"
    await write("acme", shared, [1])
    await write("beta", shared, [200])
    await write("acme", acmeOnly, [7])
    // Beta configures a sensor of that name in its own tenant, and never writes it.
    await configure("beta", acmeOnly, { throttleRate: 5, throttleBurst: 5 })
    const acme = await live("acme", { sensors: [shared, "site-4/*"] })
    const beta = await live("beta", { sensors: [shared, "site-4/*", acmeOnly] })
    // A default-tenant dashboard whose prefixes are also the start of "acme~…" inside the node.
    const outsider = await live("default", { sensors: ["acme*", "a*", shared] })
    const confirmed = beta.socket.frames.find((f) => f.type === "subscribed")?.sensors as Array<{ sensor: string; state: { sensor: string; lastValue: number } | null }>
    // Beta's own sensors with their own state.
    expect(confirmed.filter((s) => s.sensor !== MARKER)).toEqual([
      { sensor: shared, state: expect.objectContaining({ sensor: shared, lastValue: 200 }) },
      { sensor: acmeOnly, state: expect.objectContaining({ sensor: acmeOnly, lastValue: null }) }
    ])
    await write("acme", shared, [4])
    await write("acme", acmeOnly, [8])
    await write("beta", shared, [300])
    await settle(acme, beta, outsider)
    expect(readingsOf(acme.socket.frames)).toEqual([expect.objectContaining({ sensor: shared, values: [4] })])
    expect(readingsOf(beta.socket.frames)).toEqual([expect.objectContaining({ sensor: shared, values: [300] })])
    expect(readingsOf(outsider.socket.frames)).toEqual([])
    for (const d of [acme, beta, outsider]) await d.socket.close()
  })

  it("keeps alerts to their tenant: API, dashboards, webhooks and the Redis stream, with the tenant's ids", async () => {
    const sensor = "site-5/flow"
    const hookPath = (tenant: Tenant) => `/t5/${tenant}`
    const hooksOf = (tenant: Tenant) => receiver.received.filter((h) => h.path === hookPath(tenant))
    for (const tenant of TENANTS) {
      const hook = await call(node.url, "PUT", "/api/v1/webhooks/ops", as(tenant, "admin"), { url: `http://127.0.0.1:${receiver.port}${hookPath(tenant)}`, secret: "0123456789abcdef" })
      expect(hook.status, JSON.stringify(hook.body)).toBe(200)
      expect(hook.body?.id).toBe("ops")
      await configure(tenant, sensor, { rules: [{ id: "high", kind: "threshold", high: 90, severity: "critical" }] })
    }
    const betaHooks = listOf<{ id: string; url: string }>(await call(node.url, "GET", "/api/v1/webhooks", as("beta", "admin")), "webhooks")
    expect(betaHooks.filter((w) => w.id === "ops").map((w) => w.url)).toEqual([`http://127.0.0.1:${receiver.port}${hookPath("beta")}`])
    const acmeAlerts = await live("acme", { alerts: true })
    const betaAlerts = await live("beta", { alerts: true })
    const outsider = await live("default", { alerts: true })

    await write("acme", sensor, [95])
    const opened = await acmeAlerts.socket.next((f) => f.type === "alert")
    const notification = opened.notification as { tenant: string; notifier: string; alert: { id: number; sensor: string; notifier: string } }
    expect(notification).toMatchObject({ tenant: "acme", notifier: "site-5", alert: { sensor, notifier: "site-5" } })
    const id = notification.alert.id
    const hook = await until("acme's webhook", async () => hooksOf("acme")[0])
    expect(hook.body).toMatchObject({ tenant: "acme", notifier: "site-5", alert: { id, sensor } })
    const fields = await until("the stream entry", async () => {
      for (const [, flat] of await redis.xrange(STREAM, "-", "+")) {
        const entry: Record<string, string> = {}
        for (let i = 0; i + 1 < flat.length; i += 2) entry[flat[i]!] = flat[i + 1]!
        if (entry.sensor === sensor) return entry
      }
      return undefined
    })
    expect(fields).toMatchObject({ tenant: "acme", notifier: "site-5", sensor })

    expect(await alertsOf("acme", sensor)).toEqual([expect.objectContaining({ id, sensor, notifier: "site-5" })])
    expect(await alertsOf("beta", sensor)).toEqual([])
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
    expect(acked.body).toMatchObject({ id, status: "acknowledged", sensor, acknowledgedBy: expect.stringMatching(/^alice \(service:key_[\w-]+\)$/) })
    await acmeAlerts.socket.collect((f) => f.type === "alert", 2)

    // Beta's sensor of the same name breaches on its own, later: its alert is beta's only.
    await write("beta", sensor, [99])
    const betaOpened = await betaAlerts.socket.next((f) => f.type === "alert")
    expect(betaOpened.notification).toMatchObject({ tenant: "beta", alert: { sensor } })
    // Every delivery row of both webhooks (committed with the notifications above) has been sent.
    await until("every webhook delivery sent", async () => {
      const [row] = await node.sql<{ n: number }>("select count(*)::int4 as n from webhook_deliveries where webhook_id in ('acme~ops', 'beta~ops')")
      return row?.n === 0 && hooksOf("acme").length >= 2 && hooksOf("beta").length >= 1 ? true : undefined
    })
    await settle(acmeAlerts, betaAlerts, outsider)
    expect(alertTenants(acmeAlerts)).toEqual(["acme", "acme"])
    expect(alertTenants(betaAlerts)).toEqual(["beta"])
    expect(alertTenants(outsider)).toEqual([])
    expect(hooksOf("acme").map((h) => h.body.tenant)).toEqual(["acme", "acme"])
    expect(hooksOf("beta").map((h) => h.body.tenant)).toEqual(["beta"])

    // Webhooks: the same id per tenant, neither reachable from the other.
    expect((await call(node.url, "DELETE", "/api/v1/webhooks/ops", BOOTSTRAP)).status).toBe(404)
    expect((await call(node.url, "POST", "/api/v1/webhooks/ops/replay", BOOTSTRAP)).status).toBe(404)
    expect((await call(node.url, "DELETE", "/api/v1/webhooks/ops", as("beta", "admin"))).status).toBe(204)
    expect(listOf<{ id: string }>(await call(node.url, "GET", "/api/v1/webhooks", as("acme", "admin")), "webhooks").map((w) => w.id)).toContain("ops")
    expect((await call(node.url, "DELETE", "/api/v1/webhooks/ops", as("acme", "admin"))).status).toBe(204)
    for (const d of [acmeAlerts, betaAlerts, outsider]) await d.socket.close()
  })

  it("answers every endpoint that names one of acme's resources with 404 for every role of another tenant (403 only where the role itself is refused)", async () => {
    const sensor = "matrix-6/y"
    await configure("acme", sensor, { rules: [{ id: "high", kind: "threshold", high: 90 }] })
    await write("acme", sensor, [95])
    const alert = await until("acme's alert", async () => (await alertsOf("acme", sensor))[0])
    const hook = await call(node.url, "PUT", "/api/v1/webhooks/matrix-hook", as("acme", "admin"), { url: `http://127.0.0.1:${receiver.port}/t6`, secret: "0123456789abcdef" })
    expect(hook.status).toBe(200)
    const key = await call(node.url, "POST", "/api/v1/keys", as("acme", "admin"), { kind: "service", name: "matrix target", role: "viewer" })
    expect(key.status).toBe(201)
    const keyId = String(key.body?.id)
    const named: Record<string, { readonly method: string; readonly path: string; readonly body?: unknown }> = {
      "sensors.get": { method: "GET", path: `/api/v1/sensors/${encodeURIComponent(sensor)}` },
      "sensors.history": { method: "GET", path: `/api/v1/sensors/${encodeURIComponent(sensor)}/readings` },
      "sensors.delete": { method: "DELETE", path: `/api/v1/sensors/${encodeURIComponent(sensor)}` },
      "alerts.get": { method: "GET", path: `/api/v1/alerts/${alert.id}` },
      "alerts.ack": { method: "POST", path: `/api/v1/alerts/${alert.id}/ack`, body: {} },
      "alerts.resolve": { method: "POST", path: `/api/v1/alerts/${alert.id}/resolve`, body: {} },
      "webhooks.delete": { method: "DELETE", path: "/api/v1/webhooks/matrix-hook" },
      "webhooks.replay": { method: "POST", path: "/api/v1/webhooks/matrix-hook/replay" },
      "keys.revoke": { method: "DELETE", path: `/api/v1/keys/${keyId}` }
    }
    expect(Object.keys(named).sort()).toEqual(Object.keys(FOREIGN).sort())
    const credentials: Record<(typeof FOREIGN_CALLERS)[number], string> = {
      "beta viewer": as("beta", "viewer"),
      "beta operator": as("beta", "operator"),
      "beta admin": as("beta", "admin"),
      "beta device": as("beta", "device"),
      bootstrap: BOOTSTRAP
    }
    const wrong: Array<string> = []
    for (const [endpoint, request] of Object.entries(named)) {
      for (const [i, caller] of FOREIGN_CALLERS.entries()) {
        const r = await call(node.url, request.method, request.path, credentials[caller], request.body)
        const expected = FOREIGN[endpoint]?.[i]
        if (r.status !== expected) wrong.push(`${caller} ${request.method} ${request.path}: expected ${expected}, got ${r.status} ${JSON.stringify(r.body)}`)
      }
    }
    expect(wrong).toEqual([])
    // Nothing of acme's was touched by the attempts.
    expect(await history("acme", sensor)).toEqual([95])
    expect((await call(node.url, "GET", `/api/v1/alerts/${alert.id}`, as("acme", "viewer"))).body).toMatchObject({ alert: { status: "open" } })
    expect(listOf<{ id: string }>(await call(node.url, "GET", "/api/v1/webhooks", as("acme", "admin")), "webhooks").map((w) => w.id)).toContain("matrix-hook")
    expect(listOf<{ id: string }>(await call(node.url, "GET", "/api/v1/keys", as("acme", "admin")), "keys").map((k) => k.id)).toContain(keyId)
    expect((await call(node.url, "GET", "/api/v1/sensors", String(key.body?.key))).status).toBe(200)
  })

  it("lists and revokes only the caller's tenant's keys", async () => {
    const created = await call(node.url, "POST", "/api/v1/keys", as("acme", "admin"), { kind: "service", name: "acme's own", role: "viewer" })
    expect(created.status).toBe(201)
    const id = String(created.body?.id)
    const listed = async (tenant: Tenant) => listOf<{ id: string; tenant: string }>(await call(node.url, "GET", "/api/v1/keys", as(tenant, "admin")), "keys")
    const acmeKeys = await listed("acme")
    expect(acmeKeys.map((k) => k.id)).toContain(id)
    expect(acmeKeys.every((k) => k.tenant === "acme")).toBe(true)
    const betaKeys = await listed("beta")
    expect(betaKeys.map((k) => k.id)).not.toContain(id)
    expect(betaKeys.every((k) => k.tenant === "beta")).toBe(true)
    expect((await call(node.url, "DELETE", `/api/v1/keys/${id}`, as("beta", "admin"))).status).toBe(404)
    expect((await call(node.url, "GET", "/api/v1/sensors", String(created.body?.key))).status).toBe(200)
  })
})
