/**
 * Rate limits end to end: two nodes sharing PostgreSQL and a real Redis share one budget per key
 * (a client cannot double it by spreading over nodes); refusals are 429 with Retry-After and
 * RateLimit-* fields and counted; public endpoints are never limited; a node without Redis limits alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"

const ADMIN = "rate-limit-admin-key-of-32-chars-or-more"

describe("rate limits", () => {
  let db: TestDatabase
  let a: RunningNode
  let b: RunningNode
  let alone: RunningNode
  let key = ""

  beforeAll(async () => {
    db = await createTestDatabase("rate_limits")
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      AUTH_MODE: "required",
      AUTH_PEPPER: "rate-limit-pepper-of-32-characters-x",
      AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
      RATE_LIMIT_KEY_PER_SECOND: "1",
      RATE_LIMIT_KEY_BURST: "6",
      RATE_LIMIT_IP_PER_SECOND: "0"
    }
    a = await startNode(env)
    b = await startNode(env)
    const r = await fetch(`${a.url}/api/v1/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "service", name: `limited-${Date.now()}`, role: "viewer" })
    })
    key = ((await r.json()) as { key: string }).key
    alone = await startNode({ DATABASE_URL: db.url, RATE_LIMIT_IP_PER_SECOND: "2", RATE_LIMIT_IP_BURST: "3" })
  }, 60_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), alone?.stop()])
    await db?.drop()
  })

  it("shares one key's budget across nodes through Redis, and answers 429 with Retry-After and RateLimit-* fields", async () => {
    const get = (url: string) => fetch(`${url}/api/v1/sensors`, { headers: { authorization: `Bearer ${key}` } })
    const answers = []
    for (let i = 0; i < 12; i++) answers.push(await get(i % 2 === 0 ? a.url : b.url))
    const allowed = answers.filter((r) => r.status === 200).length
    // A burst of 6 plus at most one refill during the loop; 12 if each node limited alone.
    expect(allowed).toBeGreaterThanOrEqual(6)
    expect(allowed).toBeLessThanOrEqual(7)
    const refused = answers.find((r) => r.status === 429)!
    expect(refused.headers.get("retry-after")).toBe("1")
    expect(refused.headers.get("ratelimit-limit")).toBe("6")
    expect(refused.headers.get("ratelimit-remaining")).toBe("0")
    expect(Number(refused.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(1)
    expect(await refused.json()).toMatchObject({ error: "rate_limited", message: expect.stringContaining("RATE_LIMIT_KEY_PER_SECOND"), details: { scope: "key" } })
    // Both nodes run in this process and share one metrics registry: one scrape sees every refusal.
    expect(await metricValue(a.url, 'flowmesh_rate_limited_total{scope="key"}')).toBe(12 - allowed)
    // Health, readiness and metrics are never limited.
    for (let i = 0; i < 5; i++) expect((await fetch(`${a.url}/health`)).status).toBe(200)
    // The budget refills at the rate.
    await new Promise((r) => setTimeout(r, 1_100))
    expect((await get(a.url)).status).toBe(200)
  })

  it("limits per client address on a node without Redis", async () => {
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${alone.url}/api/v1/sensors`)).status)
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200])
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1)
  })
})
