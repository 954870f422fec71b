/**
 * CORS: closed by default (no Access-Control headers, so browsers on other origins cannot call the
 * API); CORS_ORIGINS opens reads to the named origins, and writes only with CORS_ALLOW_WRITES.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { type RunningNode, startNode } from "../support/node-harness.js"

const ORIGIN = "https://dash.example.com"

const preflight = (url: string, method: string, origin = ORIGIN) =>
  fetch(`${url}/api/v1/sensors/x`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization,content-type" }
  })

describe("CORS", () => {
  let db: TestDatabase
  let closed: RunningNode
  let reads: RunningNode
  let writes: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("cors")
    closed = await startNode({ DATABASE_URL: db.url })
    reads = await startNode({ DATABASE_URL: db.url, CORS_ORIGINS: ORIGIN })
    writes = await startNode({ DATABASE_URL: db.url, CORS_ORIGINS: `${ORIGIN}, https://ops.example.com:8443`, CORS_ALLOW_WRITES: "true" })
  }, 60_000)

  afterAll(async () => {
    await Promise.all([closed?.stop(), reads?.stop(), writes?.stop()])
    await db?.drop()
  })

  it("sends no CORS headers by default", async () => {
    const r = await fetch(`${closed.url}/api/v1/sensors`, { headers: { origin: ORIGIN } })
    expect(r.status).toBe(200)
    expect(r.headers.get("access-control-allow-origin")).toBeNull()
    expect((await preflight(closed.url, "GET")).headers.get("access-control-allow-origin")).toBeNull()
  })

  it("lets a named origin read, not write, and ignores other origins", async () => {
    const get = await fetch(`${reads.url}/api/v1/sensors`, { headers: { origin: ORIGIN } })
    expect(get.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    expect(get.headers.get("access-control-expose-headers")).toContain("retry-after")
    const pre = await preflight(reads.url, "PUT")
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET, HEAD")
    const other = await fetch(`${reads.url}/api/v1/sensors`, { headers: { origin: "https://evil.example" } })
    // With one origin configured the middleware names it whatever the request's origin: the
    // browser on evil.example sees a mismatch and refuses the answer to its script.
    expect(other.headers.get("access-control-allow-origin")).not.toBe("https://evil.example")
  })

  it("lets named origins write with CORS_ALLOW_WRITES", async () => {
    const pre = await preflight(writes.url, "PUT", "https://ops.example.com:8443")
    expect(pre.status).toBeLessThan(300)
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://ops.example.com:8443")
    expect(pre.headers.get("access-control-allow-methods")).toContain("PUT")
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization")
  })

  it("refuses a CORS_ORIGINS entry that is not an origin, naming the variable", async () => {
    await expect(startNode({ DATABASE_URL: db.url, CORS_ORIGINS: "https://dash.example.com/path" })).rejects.toThrow(/CORS_ORIGINS must be/)
  })
})
