/**
 * Overload and database outage answer 503 with Retry-After, never a hang, a 500 or a silent drop:
 * a full writer (one big request, or many concurrent ones), a full sensor mailbox, PostgreSQL
 * unreachable. What a 202 acknowledged as durable is stored; readings queued during an outage are
 * written once PostgreSQL is back; what a 503 refused is taken when resent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { postJson, type RunningNode, startNode } from "../support/node-harness.js"

type Answer = Awaited<ReturnType<typeof postJson>>

interface IngestBody {
  readonly accepted: number
  readonly durable: boolean
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly reason: string }>
}

const ingestBody = (a: Answer): IngestBody => a.body as IngestBody

/** Every stored reading of the sensors whose id starts with `prefix`, as `sensor@ts`. */
const storedReadings = async (node: RunningNode, prefix: string) =>
  new Set(
    (
      await node.sql<{ id: string; ts: string }>(
        "select s.id, (extract(epoch from r.ts) * 1000)::int8::text as ts from readings r join sensors s on s.key = r.sensor_key where starts_with(s.id, $1)",
        [prefix]
      )
    ).map((r) => `${r.id}@${r.ts}`)
  )

const expectRefusal = (a: Answer, message: RegExp) => {
  expect(a.status, a.text).toBe(503)
  expect(a.headers.get("retry-after"), a.text).toBe("1")
  expect(a.body).toMatchObject({ error: "unavailable", message: expect.stringMatching(message) })
}

describe("overload and outage", () => {
  let node: RunningNode
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("overload")
    node = await startNode({ DATABASE_URL: db.url, WRITER_QUEUE_ROWS: "100", ACK_TIMEOUT_MS: "1000", WRITER_RETRY_MAX_MS: "200" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  const ingest = (sensor: string, n: number, t0: number) =>
    postJson(`${node.url}/api/v1/readings`, {
      readings: Array.from({ length: n }, (_, i) => ({ sensor, ts: t0 + i, value: i }))
    })

  it("answers 503 with Retry-After when the writer has no room, and keeps nothing of that batch", async () => {
    const t0 = Date.now() - 60_000
    const answer = await ingest("big", 150, t0)
    expectRefusal(answer, /writer/)
    const retry = await ingest("big", 80, t0)
    expect(retry.status).toBe(202)
    expect(retry.body).toMatchObject({ accepted: 80, rejected: [] })
  })

  it("answers 503 with Retry-After (never a 500) when concurrent requests fill the writer; every durable 202 is stored, and the refused ones are taken when resent", async () => {
    const t0 = Date.now() - 120_000
    const sensors = Array.from({ length: 100 }, (_, i) => [`fill-${i}-a`, `fill-${i}-b`] as const)
    // The sensors are resident first, so that the requests below reach the writer together.
    for (let i = 0; i < sensors.length; i += 20) {
      const first = sensors.slice(i, i + 20).flat().map((sensor) => ({ sensor, ts: t0 - 1_000, value: 0 }))
      expect(await postJson(`${node.url}/api/v1/readings`, { readings: first })).toMatchObject({ status: 202, body: { accepted: 40 } })
    }
    // 100 requests of 2 sensors × 30 readings at once, against a writer that holds 100 rows.
    const requests = sensors.map((pair) => ({
      readings: pair.flatMap((sensor) => Array.from({ length: 30 }, (_, k) => ({ sensor, ts: t0 + k, value: k })))
    }))
    const keysOf = (body: (typeof requests)[number]) => body.readings.map((r) => `${r.sensor}@${r.ts}`)
    const answers = await Promise.all(requests.map((body) => postJson(`${node.url}/api/v1/readings`, body)))
    expect(answers.filter((a) => a.status !== 202 && a.status !== 503).map((a) => `${a.status} ${a.text}`)).toEqual([])
    const refused = requests.filter((_, i) => answers[i]?.status === 503)
    expect(refused.length).toBeGreaterThan(0)
    for (const a of answers) if (a.status === 503) expectRefusal(a, /./)
    const stored = await storedReadings(node, "fill-")
    for (const [i, a] of answers.entries()) {
      if (a.status !== 202) continue
      expect(ingestBody(a)).toMatchObject({ accepted: 60, durable: true, rejected: [] })
      expect(keysOf(requests[i]!).filter((k) => !stored.has(k))).toEqual([])
    }
    // Resent after Retry-After, one at a time: what an earlier attempt kept comes back as duplicate.
    await new Promise((r) => setTimeout(r, 1_000))
    for (const body of refused) {
      const again = await postJson(`${node.url}/api/v1/readings`, body)
      expect(again.status, again.text).toBe(202)
      const { accepted, rejected } = ingestBody(again)
      expect(rejected.filter((r) => r.reason !== "duplicate")).toEqual([])
      expect(accepted + rejected.length).toBe(60)
    }
    expect((await storedReadings(node, "fill-")).size).toBe(200 + 100 * 60)
  })

  it("answers 503 while PostgreSQL is unreachable, then writes the queued readings when it is back", async () => {
    const t0 = Date.now() - 30_000
    expect((await ingest("outage", 1, t0 - 1000)).status).toBe(202)
    await query(db.admin, `alter database ${db.name} allow_connections false`)
    await query(db.admin, `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, [db.name])
    try {
      const started = Date.now()
      const answer = await ingest("outage", 10, t0)
      // Queued but not committed in time; or, when the node lost its shard locks with the database,
      // the sensor's shard was released under the message. Either way a 503 the client can act on.
      expectRefusal(answer, /not committed within 1000 ms|shard was released while the message was in flight/)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      await query(db.admin, `alter database ${db.name} allow_connections true`)
    }
    // The client resends after Retry-After (until the node answers again): what was queued comes back duplicate.
    const resent = await until(
      "the resent batch answered",
      async () => {
        const a = await ingest("outage", 10, t0)
        return a.status === 202 ? a : undefined
      },
      20_000
    )
    expect(ingestBody(resent).accepted + ingestBody(resent).rejected.filter((r) => r.reason === "duplicate").length).toBe(10)
    await until(
      "the queued readings written",
      async () => {
        const r = await query<{ n: string }>(db.url, "select count(*) as n from readings r join sensors s on s.key = r.sensor_key where s.id = 'outage'")
        return Number(r[0]?.n) === 11 ? true : undefined
      },
      20_000
    )
    const after = await ingest("outage", 5, t0 + 100)
    expect(after.status).toBe(202)
    expect(after.body).toMatchObject({ accepted: 5, durable: true })
  })
})
