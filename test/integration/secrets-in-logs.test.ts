/**
 * Secrets never reach the logs: a real node process, debug logging, every secret setting set (the
 * database URL with a password), keys created and used, good and bad tokens, a failed key lookup;
 * then its whole output is searched for each secret.
 */
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { type NodeProcess, spawnNode } from "../support/node-process.js"

const PEPPER = "pepper-that-must-never-be-logged-0001"
const ADMIN = "admin-key-that-must-never-be-logged-0002"
const JWT_SECRET = "jwt-secret-that-must-never-be-logged-0003"
const DB_PASSWORD = "dbpassword-never-logged-0004"

describe("secrets in logs", () => {
  let db: TestDatabase
  let node: NodeProcess

  beforeAll(async () => {
    db = await createTestDatabase("secrets")
    // Trust authentication ignores the password, so the URL works and carries a secret to leak.
    const url = new URL(db.url)
    url.password = DB_PASSWORD
    node = await spawnNode({
      DATABASE_URL: url.toString(),
      AUTH_MODE: "required",
      AUTH_PEPPER: PEPPER,
      AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
      JWT_SECRET,
      LOG_LEVEL: "debug"
    })
  }, 90_000)

  afterAll(async () => {
    await node?.kill("SIGKILL")
    await db?.drop()
  })

  it("are not in the output of a node that used them all", async () => {
    const auth = (credential: string) => ({ authorization: `Bearer ${credential}`, "content-type": "application/json" })
    const created = await fetch(`${node.url}/api/v1/keys`, { method: "POST", headers: auth(ADMIN), body: JSON.stringify({ kind: "device", name: "d" }) })
    expect(created.status).toBe(201)
    const { key } = (await created.json()) as { key: string }
    expect((await fetch(`${node.url}/api/v1/readings`, { method: "POST", headers: auth(key), body: JSON.stringify({ readings: [{ sensor: "s", value: 1 }] }) })).status).toBe(202)
    expect((await fetch(`${node.url}/api/v1/sensors`, { headers: auth(`${key.slice(0, -2)}xx`) })).status).toBe(401)
    const token = await new SignJWT({ tenant: "default", role: "viewer" }).setProtectedHeader({ alg: "HS256" }).setSubject("u").setExpirationTime("1m").sign(new TextEncoder().encode(JWT_SECRET))
    expect((await fetch(`${node.url}/api/v1/sensors`, { headers: auth(token) })).status).toBe(200)
    expect((await fetch(`${node.url}/api/v1/sensors`, { headers: auth(`${token}x`) })).status).toBe(401)
    expect(await node.kill("SIGTERM")).toBe(0)
    const output = node.output()
    expect(output).toContain("flowmesh node ready")
    for (const secret of [PEPPER, ADMIN, JWT_SECRET, DB_PASSWORD, key, token]) expect(output.includes(secret), `found in the logs: ${secret.slice(0, 12)}…`).toBe(false)
  }, 60_000)
})
