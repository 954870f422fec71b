/**
 * Rate limits end to end: two nodes sharing PostgreSQL and a real Redis share one budget per key
 * (a client cannot double it by spreading over nodes); refusals are 429 with Retry-After and
 * RateLimit-* fields and counted; public endpoints are never limited; a node without Redis limits
 * alone, and so does a node whose Redis goes away (counted as fallbacks, never a hang or a 5xx).
 * GCRA: within `s` seconds a budget lets through at most its burst plus `rate × s`. Shared limits
 * are checked both ways: exact (RATE_LIMIT_SYNC_MS=0, Redis asked per request) and synced (each
 * node decides from its copy and settles every RATE_LIMIT_SYNC_MS).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
import { type PrivateRedis, startPrivateRedis } from "../support/redis-server.js"

const ADMIN = "rate-limit-admin-key-of-32-chars-or-more"

/** Runs `n` requests one after the other; the statuses and how long they took, in seconds. */
const timed = async (n: number, request: (i: number) => Promise<Response>) => {
  const started = Date.now()
  const answers: Array<Response> = []
  for (let i = 0; i < n; i++) answers.push(await request(i))
  return { answers, seconds: (Date.now() - started) / 1000 }
}

/** Two nodes' settings: one key budget of 1/s with bursts of 6, shared through Redis, settled every `syncMs` (0: exact). */
const sharedEnv = (databaseUrl: string, syncMs: number) => ({
  DATABASE_URL: databaseUrl,
  REDIS_URL: "redis://127.0.0.1:6379",
  AUTH_MODE: "required",
  AUTH_PEPPER: "rate-limit-pepper-of-32-characters-x",
  AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
  RATE_LIMIT_KEY_PER_SECOND: "1",
  RATE_LIMIT_KEY_BURST: "6",
  RATE_LIMIT_IP_PER_SECOND: "0",
  RATE_LIMIT_SYNC_MS: String(syncMs)
})

/** A fresh viewer key (its own budget). */
const viewerKey = async (url: string, name: string) => {
  const r = await fetch(`${url}/api/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ kind: "service", name: `${name}-${Date.now()}`, role: "viewer" })
  })
  return ((await r.json()) as { key: string }).key
}

describe("rate limits", () => {
  let db: TestDatabase
  let a: RunningNode
  let b: RunningNode
  let alone: RunningNode
  let key = ""

  beforeAll(async () => {
    db = await createTestDatabase("rate_limits")
    const env = sharedEnv(db.url, 0)
    a = await startNode(env)
    b = await startNode(env)
    key = await viewerKey(a.url, "limited")
    alone = await startNode({ DATABASE_URL: db.url, RATE_LIMIT_IP_PER_SECOND: "2", RATE_LIMIT_IP_BURST: "3" })
  }, 60_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), alone?.stop()])
    await db?.drop()
  })

  it("shares one key's budget across nodes through Redis exactly (RATE_LIMIT_SYNC_MS=0), and answers 429 with Retry-After and RateLimit-* fields", async () => {
    const get = (url: string) => fetch(`${url}/api/v1/sensors`, { headers: { authorization: `Bearer ${key}` } })
    const refusedBefore = await counterValue(a.url, 'flowmesh_rate_limited_total{scope="key"}')
    const { answers, seconds } = await timed(12, (i) => get(i % 2 === 0 ? a.url : b.url))
    const allowed = answers.filter((r) => r.status === 200).length
    expect(answers.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([])
    // One burst of 6 plus what refilled meanwhile; 12 if each node limited alone.
    expect(allowed).toBeGreaterThanOrEqual(6)
    expect(allowed).toBeLessThanOrEqual(6 + Math.ceil(seconds))
    const refused = answers.find((r) => r.status === 429)!
    const refusedAt = Date.now()
    expect(refused.headers.get("retry-after")).toBe("1")
    expect(refused.headers.get("ratelimit-limit")).toBe("6")
    expect(refused.headers.get("ratelimit-remaining")).toBe("0")
    expect(Number(refused.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ error: "rate_limited", message: expect.stringContaining("RATE_LIMIT_KEY_PER_SECOND"), details: { scope: "key" } })
    // Both nodes run in this process and share one metrics registry: one scrape sees every refusal.
    expect((await metricValue(a.url, 'flowmesh_rate_limited_total{scope="key"}')) - refusedBefore).toBe(12 - allowed)
    // Health, readiness and metrics are never limited.
    for (let i = 0; i < 5; i++) expect((await fetch(`${a.url}/health`)).status).toBe(200)
    // The budget refills at the rate: after Retry-After there is room again.
    await new Promise((r) => setTimeout(r, Math.max(0, refusedAt + Number(refused.headers.get("retry-after")) * 1000 - Date.now())))
    expect((await get(a.url)).status).toBe(200)
  })

  it("limits per client address on a node without Redis", async () => {
    const { answers, seconds } = await timed(10, () => fetch(`${alone.url}/api/v1/sensors`))
    const statuses = answers.map((r) => r.status)
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200])
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    // A burst of 3 plus 2 per second.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3 + Math.ceil(seconds * 2))
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1)
  })
})

describe("rate limits when Redis goes away", () => {
  let db: TestDatabase
  let redis: PrivateRedis
  let node: RunningNode

  beforeAll(async () => {
    redis = await startPrivateRedis()
    db = await createTestDatabase("rate_limits_fallback")
    node = await startNode({ DATABASE_URL: db.url, REDIS_URL: redis.url, RATE_LIMIT_IP_PER_SECOND: "1", RATE_LIMIT_IP_BURST: "3", RATE_LIMIT_SYNC_MS: "0" })
  }, 60_000)

  afterAll(async () => {
    await node?.stop()
    await redis?.stop()
    await db?.drop()
  })

  it("limits alone when Redis does not answer: every decision falls back, none hangs or fails", async () => {
    const get = () => fetch(`${node.url}/api/v1/sensors`)
    const shared = await timed(5, get)
    expect(shared.answers.map((r) => r.status).slice(0, 3)).toEqual([200, 200, 200])
    const fallbacksBefore = await metricValue(node.url, "flowmesh_rate_limiter_fallbacks_total")

    await redis.stop()
    const started = Date.now()
    const answers = await Promise.all(Array.from({ length: 20 }, get))
    const seconds = (Date.now() - started) / 1000
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    // The node's own budget (a fresh burst of 3, 1 per second) decides; Redis is waited for 250 ms at most.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1)
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3 + Math.ceil(seconds))
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1)
    expect(seconds).toBeLessThan(10)
    expect((await metricValue(node.url, "flowmesh_rate_limiter_fallbacks_total")) - fallbacksBefore).toBe(20)
    expect(answers.find((r) => r.status === 429)?.headers.get("retry-after")).toBe("1")
  })
})

describe("synced rate limits (the default with Redis)", () => {
  let db: TestDatabase
  let a: RunningNode
  let b: RunningNode
  let key = ""
  const SYNC_MS = 50

  beforeAll(async () => {
    db = await createTestDatabase("rate_limits_synced")
    const env = sharedEnv(db.url, SYNC_MS)
    a = await startNode(env)
    b = await startNode(env)
    key = await viewerKey(a.url, "synced")
  }, 60_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await db?.drop()
  })

  it("shares one key's budget across nodes: each node learns what the other spent within a settle", async () => {
    const get = (url: string) => fetch(`${url}/api/v1/sensors`, { headers: { authorization: `Bearer ${key}` } })
    // Requests further apart than a settle: every decision sees the other node's spending.
    const { answers, seconds } = await timed(12, async (i) => {
      await new Promise((r) => setTimeout(r, 3 * SYNC_MS))
      return get(i % 2 === 0 ? a.url : b.url)
    })
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    const allowed = statuses.filter((s) => s === 200).length
    // One burst of 6 plus what refilled meanwhile, as if one node decided; 12 if each limited alone.
    expect(allowed).toBeGreaterThanOrEqual(6)
    expect(allowed).toBeLessThanOrEqual(6 + Math.ceil(seconds))
    const refused = answers.find((r) => r.status === 429)!
    expect(refused.headers.get("retry-after")).toBe("1")
    expect(await refused.json()).toMatchObject({ error: "rate_limited", details: { scope: "key" } })
  })

  it("overshoots a burst spread over both nodes by at most one node's burst, then holds both to the shared budget", async () => {
    // A fresh key: the first request on each node is decided in Redis (priming its copy), the rest
    // locally until the next settle.
    const fresh = await viewerKey(a.url, "synced-burst")
    const get = (url: string) => fetch(`${url}/api/v1/sensors`, { headers: { authorization: `Bearer ${fresh}` } })
    const started = Date.now()
    const burst = await Promise.all(Array.from({ length: 24 }, (_, i) => get(i % 2 === 0 ? a.url : b.url)))
    const allowed = burst.filter((x) => x.status === 200).length
    expect(burst.filter((x) => x.status !== 200 && x.status !== 429)).toEqual([])
    expect(allowed).toBeGreaterThanOrEqual(6)
    expect(allowed).toBeLessThanOrEqual(12 + Math.ceil((Date.now() - started) / 1000))
    // After a settle both nodes know the budget is spent.
    await new Promise((done) => setTimeout(done, 4 * SYNC_MS))
    expect((await get(a.url)).status).toBe(429)
    expect((await get(b.url)).status).toBe(429)
  })
})
