/**
 * What a device and an operator see of the durable-ack promise at its edges: a timestamp's
 * precision is the stored one (two readings the device tells apart below the millisecond are one
 * reading, answered as such), and a writer that cannot commit shows on /ready until it can.
 */
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

describe("durable acks at the edges", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("durable_ack")
    node = await startNode({ DATABASE_URL: db.url, WRITER_STALL_MS: "500" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  const stored = async (sensor: string) =>
    node.sql<{ ms: number }>(
      "select (extract(epoch from r.ts) * 1000)::float8 as ms from readings r join sensors s on s.key = r.sensor_key where s.id = $1 order by r.ts",
      [sensor]
    )

  it("sub-millisecond timestamps: acknowledged durable means stored, at the millisecond", async () => {
    const t = Date.now() - 60_000
    const answer = await postJson(`${node.url}/api/v1/readings`, {
      readings: [
        { sensor: "ack/sub-ms", ts: t + 0.0001, value: 1 },
        { sensor: "ack/sub-ms", ts: t + 0.0002, value: 2 },
        { sensor: "ack/sub-ms", ts: new Date(t + 1).toISOString().replace("Z", "1Z"), value: 3 }
      ]
    })
    expect(answer.status).toBe(202)
    expect(answer.body).toEqual({
      accepted: 2,
      durable: true,
      suspect: [],
      rejected: [{ index: 1, sensor: "ack/sub-ms", reason: "duplicate" }]
    })
    expect((await stored("ack/sub-ms")).map((r) => r.ms)).toEqual([t, t + 1])
  })

  it("a writer that cannot commit makes /ready answer 503 naming the writer, and ready again once it commits", async () => {
    expect((await getJson(`${node.url}/ready`)).status).toBe(200)
    // The sensor is resident first: only its writer's flush meets the lock.
    expect((await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "ack/stalled", value: 0, ts: Date.now() - 1_000 }] })).status).toBe(202)
    const blocker = new pg.Client({ connectionString: db.url })
    await blocker.connect()
    try {
      await blocker.query("begin")
      await blocker.query("lock table readings in access exclusive mode")
      const pending = postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "ack/stalled", value: 1 }] })
      let ready = await getJson(`${node.url}/ready`)
      for (let i = 0; i < 100 && ready.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 100))
        ready = await getJson(`${node.url}/ready`)
      }
      expect(ready.status).toBe(503)
      expect(ready.body).toMatchObject({ status: "not_ready", checks: { database: true, writer: false } })
      await blocker.query("commit")
      const answer = await pending
      expect(answer.status).toBe(202)
      expect(answer.body).toMatchObject({ accepted: 1, durable: true })
      expect((await getJson(`${node.url}/ready`)).status).toBe(200)
    } finally {
      await blocker.end()
    }
  })

  it("a resend answered duplicate while its original is still queued waits for the original's commit", async () => {
    const t = Date.now() - 5_000
    expect((await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "ack/dup-wait", value: 0, ts: t - 1 }] })).status).toBe(202)
    const blocker = new pg.Client({ connectionString: db.url })
    await blocker.connect()
    try {
      await blocker.query("begin")
      await blocker.query("lock table readings in access exclusive mode")
      const stamp = <A>(p: Promise<A>) => p.then((answer) => ({ answer, at: Date.now() }))
      const original = stamp(postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "ack/dup-wait", value: 1, ts: t }] }))
      // The resend goes to the same sensor after the original: it is decided second.
      await until("the original queued", async () => ((await getJson(`${node.url}/ready`)).status === 503 ? true : undefined))
      const resend = stamp(postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "ack/dup-wait", value: 1, ts: t }] }))
      await new Promise((r) => setTimeout(r, 200))
      const releasedAt = Date.now()
      await blocker.query("commit")
      const [a, b] = await Promise.all([original, resend])
      expect(a.answer.body).toMatchObject({ accepted: 1, durable: true })
      expect(b.answer.body).toMatchObject({ accepted: 0, durable: true, rejected: [{ index: 0, reason: "duplicate" }] })
      expect(b.at).toBeGreaterThanOrEqual(releasedAt)
      expect((await stored("ack/dup-wait")).length).toBe(2)
    } finally {
      await blocker.end()
    }
  })
})
