/**
 * /ready reports the database, the cluster and (when configured) Redis, against the real services.
 * Redis down degrades the report but never ingestion: durability does not depend on it. The
 * database down makes the node not ready (503) until it is back.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { getJson, postJson, startNode } from "../support/node-harness.js"
import { freePort } from "../support/node-process.js"

const REDIS_URL = "redis://127.0.0.1:6379"

describe("readiness", () => {
  let db: TestDatabase

  beforeAll(async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 })
    try {
      await redis.connect()
      expect(await redis.ping()).toBe("PONG")
    } catch (e) {
      throw new Error(`Redis at ${REDIS_URL} is unreachable (integration tests need it): ${String(e)}`)
    } finally {
      redis.disconnect()
    }
    db = await createTestDatabase("ready")
  })
  afterAll(async () => {
    await db?.drop()
  })

  it("is ready with database, cluster and Redis up", async () => {
    const node = await startNode({ DATABASE_URL: db.url, REDIS_URL })
    try {
      const ready = await getJson(`${node.url}/ready`)
      expect(ready.status).toBe(200)
      expect(ready.body).toMatchObject({ status: "ready", checks: { database: true, cluster: true, redis: true } })
      expect(await getJson(`${node.url}/health`)).toMatchObject({ status: 200, body: { status: "ok" } })
    } finally {
      await node.stop()
    }
  })

  it("reports Redis down without refusing readings", async () => {
    const closed = await freePort()
    const node = await startNode({ DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${closed}` })
    try {
      const ready = await getJson(`${node.url}/ready`)
      expect(ready.body).toMatchObject({ status: "ready", checks: { database: true, cluster: true, redis: false } })
      const answer = await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "no-redis", value: 1 }] })
      expect(answer.status).toBe(202)
      expect(answer.body).toMatchObject({ accepted: 1, durable: true })
    } finally {
      await node.stop()
    }
  })

  it("answers 503 naming the database while PostgreSQL refuses connections, and 200 again once it is back", async () => {
    const node = await startNode({ DATABASE_URL: db.url })
    try {
      expect((await getJson(`${node.url}/ready`)).status).toBe(200)
      await query(db.admin, `alter database ${db.name} allow_connections false`)
      try {
        await query(db.admin, "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [db.name])
        const down = await getJson(`${node.url}/ready`)
        expect(down.status).toBe(503)
        expect(down.body).toMatchObject({ status: "not_ready", checks: { database: false } })
      } finally {
        await query(db.admin, `alter database ${db.name} allow_connections true`)
      }
      const back = await until(
        "the node ready again",
        async () => {
          const r = await getJson(`${node.url}/ready`)
          return r.status === 200 ? r : undefined
        },
        30_000
      )
      expect(back.body).toMatchObject({ status: "ready", checks: { database: true, cluster: true } })
    } finally {
      await node.stop()
    }
  })
})
