/**
 * The edge under random and adversarial input (fast-check): methods, paths, query strings,
 * headers, bodies (deep nesting, huge numbers, unicode, `__proto__`/`constructor` keys, enormous
 * arrays, wrong types, truncated JSON) and WebSocket frames, sent to a real node process with
 * authentication on, authenticated as the superuser so that requests reach the handlers. Nothing
 * may answer 5xx, the node must keep answering, and its heap must come back near its baseline.
 * FUZZ_RUNS sets the runs per property (CI: 150; the full run in the issue note used more).
 */
import * as fc from "fast-check"
import WebSocket from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { metricValue } from "../support/metrics.js"
import { type NodeProcess, spawnNode } from "../support/node-process.js"

const RUNS = Number(process.env.FUZZ_RUNS ?? 150)
const ADMIN = "fuzz-admin-key-of-at-least-32-characters"
const statuses = new Map<number, number>()
let tried = 0

const ROUTES = [
  "/api/v1/readings",
  "/api/v1/sensors",
  "/api/v1/sensors/{id}",
  "/api/v1/sensors/{id}/readings",
  "/ingest/readings",
  "/devices/{id}/readings",
  "/api/v1/alerts",
  "/api/v1/alerts/{id}",
  "/api/v1/alerts/{id}/ack",
  "/api/v1/alerts/{id}/resolve",
  "/api/v1/webhooks",
  "/api/v1/webhooks/{id}",
  "/api/v1/webhooks/{id}/replay",
  "/api/v1/dead-letters",
  "/api/v1/keys",
  "/api/v1/keys/{id}",
  "/api/v1/tenants",
  "/health",
  "/ready",
  "/metrics"
]

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("..", "%2e%2e", "%00", "%", "%ff", "a/b", "__proto__", "constructor", "x".repeat(300), "1e400", "-0", "NaN", "😀", "ａ")
)
const segment = nasty.map((s) => encodeURIComponent(s))
const path = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), segment).map(([r, s]) => r.replace("{id}", s)),
  fc.array(segment, { maxLength: 6 }).map((xs) => `/${xs.join("/")}`)
)
const query = fc.dictionary(fc.constantFrom("ack", "limit", "from", "to", "prefix", "after", "status", "sensor", "before", "x"), nasty, { maxKeys: 4 })

/** A full garbage collection in the node, through its inspector, so that heap figures are live data only. */
const collectGarbage = (output: string) =>
  new Promise<void>((resolve, reject) => {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1]
    if (url === undefined) {
      reject(new Error("the node's inspector address is not in its output"))
      return
    }
    const ws = new WebSocket(url)
    ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })))
    ws.on("message", (data) => {
      const reply: unknown = JSON.parse(data.toString())
      if (typeof reply === "object" && reply !== null && "id" in reply && reply.id === 1) {
        ws.close()
        resolve()
      }
    })
    ws.once("error", reject)
  })

const deep = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth)
const hostileBody = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify({ readings: v })),
  fc.anything().map((v) => {
    try {
      return JSON.stringify(v) ?? "null"
    } catch {
      return "{}"
    }
  }),
  fc.integer({ min: 1, max: 200_000 }).map((d) => deep(d, "[", "]")),
  fc.string().map((s) => `{"a":{"a":}${s}`),
  fc.integer({ min: 1, max: 100_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`),
  fc.constantFrom(
    '{"__proto__":{"admin":true},"readings":[{"sensor":"p","value":1}]}',
    '{"constructor":{"prototype":{"polluted":1}},"value":1}',
    '{"readings":[{"sensor":"s","value":1e400}]}',
    '{"readings":[{"sensor":"s","value":"1"}]}',
    '{"readings":[{"sensor":"s","ts":-1e308,"value":1}]}',
    '{"readings":[{"sensor":"s","ts":"2026-02-30T25:61:00Z","value":1}]}',
    '{"readings":',
    "\u0000\u0001",
    "\ud800",
    '{"rules":[{"kind":"threshold","id":"__proto__","high":1}]}'
  ),
  fc.integer({ min: 1, max: 120_000 }).map((n) => JSON.stringify({ readings: Array.from({ length: n }, () => 0) }))
)
const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "", "application/vnd.x+json")

describe("fuzzing the edge", () => {
  let db: TestDatabase
  let node: NodeProcess

  const send = async (method: string, target: string, body: string | null, type: string, extra: Record<string, string> = {}) => {
    const response = await fetch(node.url + target, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(type === "" ? {} : { "content-type": type }), ...extra },
      ...(body === null || method === "GET" || method === "HEAD" ? {} : { body })
    })
    await response.arrayBuffer()
    tried++
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    return response.status
  }

  beforeAll(async () => {
    db = await createTestDatabase("fuzz")
    node = await spawnNode({
      DATABASE_URL: db.url,
      AUTH_MODE: "required",
      AUTH_PEPPER: "fuzz-pepper-fuzz-pepper-fuzz-pepper-00",
      AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
      RATE_LIMIT_IP_PER_SECOND: "0",
      RATE_LIMIT_KEY_PER_SECOND: "0",
      NODE_OPTIONS: "--inspect=127.0.0.1:0"
    })
  }, 90_000)

  afterAll(async () => {
    console.log(`fuzz: ${tried} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
    await node?.kill("SIGKILL")
    await db?.drop()
  })

  it("answers every method, path, query and body with a status below 500, and stays up with its heap near baseline", async () => {
    await collectGarbage(node.output())
    const baseline = await metricValue(node.url, "flowmesh_nodejs_heap_size_used_bytes")
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"), path, query, hostileBody, contentType, async (method, p, q, body, type) => {
        const qs = new URLSearchParams(q).toString()
        const status = await send(method, qs === "" ? p : `${p}?${qs}`, body, type)
        expect(status, `${method} ${p}?${qs}`).toBeLessThan(500)
      }),
      { numRuns: RUNS * 4 }
    )
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES.filter((r) => !r.includes("{id}"))), fc.dictionary(fc.constantFrom("authorization", "x-device-key", "x-api-key", "content-length-x", "accept", "origin"), fc.string({ unit: "binary-ascii", maxLength: 200 }).map((s) => s.replace(/[\r\n\0]/g, "")), { maxKeys: 3 }), async (route, headers) => {
        const response = await fetch(node.url + route, { headers }).catch(() => null)
        if (response === null) return
        await response.arrayBuffer()
        tried++
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        expect(response.status, `${route} ${JSON.stringify(headers)}`).toBeLessThan(500)
      }),
      { numRuns: RUNS }
    )
    expect((await fetch(`${node.url}/health`)).status).toBe(200)
    await collectGarbage(node.output())
    const after = await metricValue(node.url, "flowmesh_nodejs_heap_size_used_bytes")
    expect(after - baseline, `live heap grew from ${baseline} to ${after}`).toBeLessThan(32 * 1024 * 1024)
  }, 300_000)

  it("answers hostile WebSocket frames with error frames, never a crash", async () => {
    const open = (p: string) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(node.url.replace("http", "ws") + p, { headers: { authorization: `Bearer ${ADMIN}` } })
        ws.once("open", () => resolve(ws))
        ws.once("error", reject)
      })
    for (const p of ["/ws/devices", "/ws/live"]) {
      const ws = await open(p)
      let answers = 0
      ws.on("message", () => answers++)
      const frames = fc.sample(fc.oneof(hostileBody, fc.jsonValue().map((v) => JSON.stringify({ type: "readings", seq: 1, readings: v })), fc.jsonValue().map((v) => JSON.stringify({ type: "subscribe", sensors: v }))), RUNS)
      // Under the bad-frame limit per window, so the connection stays open and every frame is answered.
      for (const [i, f] of frames.entries()) {
        if (ws.readyState !== WebSocket.OPEN) break
        ws.send(f)
        tried++
        if (i % 15 === 14) await new Promise((r) => setTimeout(r, 50))
      }
      await new Promise((r) => setTimeout(r, 500))
      expect(answers).toBeGreaterThan(0)
      ws.close()
    }
    expect((await fetch(`${node.url}/health`)).status).toBe(200)
  }, 120_000)
})
