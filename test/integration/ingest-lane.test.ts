/**
 * The lean ingest lane and the HttpApi path answer the same: every body is sent once the way the
 * lane takes it and once the way it does not (an extra query parameter, which the HttpApi path
 * ignores), and the two answers must match in status, JSON and headers; the metric says which path
 * served each. With AUTH_MODE=required a credential the node has not checked yet goes the HttpApi
 * way (it needs a database round trip), and once cached the lane takes it, with the same scope.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"

const LANE = 'flowmesh_http_ingest_requests_total{path="lane"}'
const API = 'flowmesh_http_ingest_requests_total{path="api"}'
const COMPARED_HEADERS = ["content-type", "retry-after", "x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy", "cache-control"]

interface Seen {
  readonly status: number
  readonly headers: Record<string, string | null>
  readonly body: string
}

const post = async (url: string, body: string, headers: Record<string, string> = {}): Promise<Seen> => {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })
  const text = await response.text()
  return { status: response.status, headers: Object.fromEntries(COMPARED_HEADERS.map((h) => [h, response.headers.get(h)])), body: text }
}

describe("lean ingest lane", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("ingest_lane")
    node = await startNode({ DATABASE_URL: db.url, MAX_READINGS_PER_REQUEST: "5" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("answers every body as the HttpApi path does, and the metric shows which path served it", async () => {
    const t = Date.now() - 60_000
    // Each case names its sensors with `S`, replaced by a different prefix per path so that both see fresh sensors.
    const cases: ReadonlyArray<{ readonly path: string; readonly body: string }> = [
      { path: "/api/v1/readings", body: JSON.stringify({ readings: [{ sensor: "S/a", ts: t, value: 1 }, { sensor: "S/b", ts: t, value: 2 }] }) },
      { path: "/api/v1/readings", body: JSON.stringify({ readings: [{ sensor: "S/c", ts: t + 1, value: 1 }, { sensor: "S/c", ts: t, value: 2 }, { sensor: "S/c", ts: t + 1, value: 3 }] }) },
      { path: "/api/v1/readings", body: JSON.stringify({ readings: [{ sensor: "S/d", ts: t, value: "high" }] }) },
      { path: "/api/v1/readings", body: `{"readings":[{"sensor":"S/e","value":1}` },
      { path: "/api/v1/readings", body: JSON.stringify({ readings: Array.from({ length: 6 }, (_, i) => ({ sensor: "S/f", ts: t + i, value: i })) }) },
      { path: "/api/v1/readings", body: JSON.stringify([{ sensor: "S/g", ts: t, value: 1 }]) },
      { path: "/api/v1/readings", body: "\uFEFF{}" },
      { path: "/ingest/readings", body: JSON.stringify({ sensor: "S/h", ts: t, value: 1 }) },
      { path: "/ingest/readings", body: JSON.stringify([{ sensor: "S/i", ts: t, value: 1 }, { sensor: "bad id!", ts: t, value: 1 }]) },
      { path: "/ingest/readings", body: JSON.stringify({ value: 1 }) },
      // Nested so deep that describing it overflows the stack: a 400, and the node stays up.
      { path: "/api/v1/readings", body: `{"readings":[{"sensor":"S/k","value":${"[".repeat(20_000)}${"]".repeat(20_000)}}]}` }
    ]
    for (const query of ["?ack=durable", "?ack=accepted", ""]) {
      for (const [i, c] of cases.entries()) {
        const laneBefore = await metricValue(node.url, LANE)
        const apiBefore = await metricValue(node.url, API)
        // Prefixes of one length, so that positions in error messages match too.
        const viaLane = await post(`${node.url}${c.path}${query}`, c.body.replaceAll("S/", `L${i}${query.length}/`))
        expect(await metricValue(node.url, LANE)).toBe(laneBefore + 1)
        const separator = query === "" ? "?" : "&"
        const viaApi = await post(`${node.url}${c.path}${query}${separator}via=api`, c.body.replaceAll("S/", `A${i}${query.length}/`))
        expect(await metricValue(node.url, API)).toBe(apiBefore + 1)
        expect({ ...viaLane, body: viaLane.body.replaceAll(`L${i}${query.length}/`, "S/") }, `${c.path}${query} ${c.body}`).toEqual({
          ...viaApi,
          body: viaApi.body.replaceAll(`A${i}${query.length}/`, "S/")
        })
      }
    }
  })

  it("leaves to the HttpApi path what it cannot decide before the body: other methods and media types, chunked bodies", async () => {
    const apiBefore = await metricValue(node.url, API)
    const laneBefore = await metricValue(node.url, LANE)
    const wrongType = await fetch(`${node.url}/api/v1/readings`, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" })
    expect(wrongType.status).toBe(415)
    const chunked = await fetch(`${node.url}/api/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Blob([JSON.stringify({ readings: [{ sensor: "chunked/1", value: 1 }] })]).stream(),
      duplex: "half"
    } as RequestInit)
    expect(chunked.status).toBe(202)
    const badAck = await fetch(`${node.url}/api/v1/readings?ack=sometimes`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
    expect(badAck.status).toBe(400)
    expect(((await badAck.json()) as { message: string }).message).toContain("ack")
    // The 415 is refused by the edge before any handler; the chunked and bad-ack requests reach (or fail in) the HttpApi path.
    expect(await metricValue(node.url, LANE)).toBe(laneBefore)
    expect(await metricValue(node.url, API)).toBe(apiBefore + 1)
    const rows = await node.sql<{ n: string }>("select count(*) as n from readings r join sensors s on s.key = r.sensor_key where s.id = 'chunked/1'")
    expect(Number(rows[0]?.n)).toBe(1)
  })
})

describe("lean ingest lane with AUTH_MODE=required", () => {
  const BOOTSTRAP = "bootstrap-admin-key-of-at-least-32-characters"
  let db: TestDatabase
  let node: RunningNode

  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const response = await fetch(node.url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? null : (JSON.parse(text) as Record<string, unknown>) }
  }

  beforeAll(async () => {
    db = await createTestDatabase("ingest_lane_auth")
    node = await startNode({
      DATABASE_URL: db.url,
      AUTH_MODE: "required",
      AUTH_PEPPER: "pepper-pepper-pepper-pepper-pepper-0",
      AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
      METRICS_PUBLIC: "true"
    })
    expect((await call("POST", "/api/v1/tenants", BOOTSTRAP, { id: "acme", name: "Acme Water" })).status).toBe(201)
  }, 60_000)
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("takes a credential once the node has checked it, keeps its scope, and leaves refusals to the HttpApi path", async () => {
    const admin = await call("POST", "/api/v1/keys", BOOTSTRAP, { kind: "service", name: "admin", role: "admin", tenant: "acme" })
    expect(admin.status).toBe(201)
    const adminKey = (admin.body as { key: string }).key
    const created = await call("POST", "/api/v1/keys", adminKey, { kind: "device", name: "site-1 gateway", sensorPrefix: "site-1/" })
    expect(created.status).toBe(201)
    const { id, key } = created.body as { id: string; key: string }
    const t = Date.now() - 10_000
    const body = (i: number) => ({ readings: [{ sensor: "site-1/flow", value: 1, ts: t + i }, { sensor: "site-2/flow", value: 2, ts: t + i }] })
    const expected = { accepted: 1, durable: true, suspect: [], rejected: [{ index: 1, sensor: "site-2/flow", reason: "not_permitted" }] }

    const api0 = await metricValue(node.url, API)
    const lane0 = await metricValue(node.url, LANE)
    // Not yet cached: resolving the key needs PostgreSQL, so the HttpApi path serves it.
    expect(await call("POST", "/api/v1/readings", key, body(0))).toEqual({ status: 202, body: expected })
    expect(await metricValue(node.url, API)).toBe(api0 + 1)
    // Cached now: the lane serves it, with the key's scope.
    expect(await call("POST", "/api/v1/readings", key, body(1))).toEqual({ status: 202, body: expected })
    expect(await metricValue(node.url, LANE)).toBe(lane0 + 1)

    // A key that is not known, and the revoked key: refused (401) by the edge, never by the lane.
    const unknown = await call("POST", "/api/v1/readings", "no-such-key-no-such-key-no-such-key", body(2))
    expect(unknown.status).toBe(401)
    expect((await call("DELETE", `/api/v1/keys/${id}`, adminKey)).status).toBe(204)
    const revoked = await call("POST", "/api/v1/readings", key, body(3))
    expect(revoked.status).toBe(401)
    expect(await metricValue(node.url, LANE)).toBe(lane0 + 1)
    const rows = await node.sql<{ n: string }>("select count(*) as n from readings r join sensors s on s.key = r.sensor_key where s.tenant = 'acme'")
    expect(Number(rows[0]?.n)).toBe(2)
  })
})
