/**
 * A node loses its shard locks right after an alert commits (issue 14, item 11). The COMMIT of the
 * `opened` event is made slow by a deferred constraint trigger (4 s), and while it sleeps every
 * other database session of the node is terminated for 2.5 s: the node's shard-lock session dies,
 * the cluster marks its lock storage unhealthy and interrupts the notifier, after its transaction
 * committed and before it told anyone. The alert is in PostgreSQL; it must still reach every
 * channel (dashboards on /ws/live, the Redis stream, the webhook), `opened` before `resolved`, and
 * `flowmesh_alerts_total` must count each transition once. Two cases: the alert resolves at once
 * (the notifier's next run must deliver the `opened` before the `resolved`), and nothing else
 * happens to it (no message wakes the notifier: the sweeper's reminder must).
 */
import { Redis } from "ioredis"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_URL, createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { type HookReceiver, startHookReceiver, until } from "../support/hook-receiver.js"
import { metricValue } from "../support/metrics.js"
import { type NodeProcess, spawnNode } from "../support/node-process.js"
import { openSocket, type TestSocket, wsUrl } from "../support/ws-client.js"

type HookBody = { id: number; type: string; alert: { id: number; sensor: string } | null }

const SENSORS = ["site-f/flow", "site-g/level"] as const
const STREAM = `test:alerts:failover:${process.pid}:${Date.now()}`
const COMMIT_SLEEP_S = 4
const CUT_MS = 2_500
const OPENED = 'flowmesh_alerts_total{kind="threshold",severity="critical",event="opened"}'
const RESOLVED = 'flowmesh_alerts_total{kind="threshold",severity="critical",event="resolved"}'

/** The first occurrence of each notification id, in arrival order (receivers dedupe by id). */
const typesOnce = (notes: ReadonlyArray<{ readonly id: number; readonly type: string }>): Array<string> => {
  const seen = new Set<number>()
  const out: Array<string> = []
  for (const n of notes) {
    if (seen.has(n.id)) continue
    seen.add(n.id)
    out.push(n.type)
  }
  return out
}

const occurrences = (text: string, line: string) => text.split(line).length - 1

describe("an alert committed just before the node loses its shard locks", () => {
  let db: TestDatabase
  let node: NodeProcess
  let receiver: HookReceiver<HookBody>
  let redis: Redis
  let dashboard: TestSocket
  const t0 = Date.now() - 600_000

  const post = async (sensor: string, value: number, ts: number) => {
    const body = JSON.stringify({ readings: [{ sensor, ts, value }] })
    // While the node recovers from the cut it may answer 503 (or not at all): retry until it takes the reading.
    return until(
      `reading ${value} of ${sensor} accepted`,
      async () => {
        const r = await fetch(`${node.url}/api/v1/readings`, { method: "POST", headers: { "content-type": "application/json" }, body }).catch(() => null)
        return r?.status === 202 ? true : undefined
      },
      30_000
    )
  }

  /**
   * Raises the sensor's alert and, while its COMMIT sleeps in the trigger, terminates every other
   * session of the node's database for CUT_MS. Resolves with the alert's id once it is in
   * PostgreSQL and the node has reported both the lost shard locks and the notifier cut short.
   */
  const raiseDuringShardLoss = async (sensor: string, ts: number) => {
    const output = node.output()
    const lost = occurrences(output, "Shard lock storage is unhealthy")
    const cutShort = occurrences(output, "notifier did not take alert events")
    await post(sensor, 95, ts)
    const admin = new pg.Client({ connectionString: ADMIN_URL })
    await admin.connect()
    let terminated = 0
    try {
      const committing = await until("the opened alert's COMMIT to be in progress", async () => {
        const r = await admin.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1 and wait_event = 'PgSleep'", [db.name])
        return r.rows[0]?.pid
      })
      const cutUntil = Date.now() + CUT_MS
      while (Date.now() < cutUntil) {
        const r = await admin.query<{ n: number }>(
          "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> $2 and backend_type = 'client backend'",
          [db.name, committing]
        )
        terminated += r.rows[0]?.n ?? 0
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    } finally {
      await admin.end()
    }
    expect(terminated).toBeGreaterThan(0)
    const alert = await until(
      "the alert in PostgreSQL",
      async () => (await query<{ id: string }>(db.url, "select id::text as id from alerts where sensor = $1 and status = 'open'", [sensor]))[0],
      15_000
    )
    // The cut really cost the node its shard locks, and the notifier was interrupted after its commit.
    await until("the node to report lost shard locks", async () => (occurrences(node.output(), "Shard lock storage is unhealthy") > lost ? true : undefined))
    await until("the notifier cut short", async () => (occurrences(node.output(), "notifier did not take alert events") > cutShort ? true : undefined))
    return Number(alert.id)
  }

  // Other nodes on the same Redis (other test runs) may publish alerts with the same ids: the sensor tells them apart.
  const isOf = (sensor: string, alertId: number) => (n: HookBody) => n.alert?.id === alertId && n.alert.sensor === sensor
  const ofAlert = (sensor: string, alertId: number, notes: ReadonlyArray<HookBody>) => notes.filter(isOf(sensor, alertId))

  /** Every channel's notifications of the alert once it has `count` distinct ones, in arrival order. */
  const channels = async (sensor: string, alertId: number, count: number) => {
    const frames = await dashboard.collect((f) => f.type === "alert" && isOf(sensor, alertId)(f.notification as HookBody), count, 30_000)
    const live = frames.map((f) => f.notification as HookBody)
    const distinct = (notes: ReadonlyArray<HookBody>) => (new Set(notes.map((n) => n.id)).size >= count ? notes : undefined)
    const stream = await until(
      "the alert's notifications on the Redis stream",
      async () => {
        const entries = (await redis.xrange(STREAM, "-", "+")).map(([, f]) => JSON.parse(f[f.indexOf("data") + 1] ?? "null") as HookBody)
        return distinct(ofAlert(sensor, alertId, entries))
      },
      30_000
    )
    const hooks = await until("the alert's notifications on the webhook", async () => distinct(ofAlert(sensor, alertId, receiver.received.map((h) => h.body))), 30_000)
    return { live, stream, hooks }
  }

  beforeAll(async () => {
    receiver = await startHookReceiver<HookBody>()
    redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true })
    await redis.connect()
    db = await createTestDatabase("fanout_failover")
    node = await spawnNode({
      DATABASE_URL: db.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      ALERT_STREAM_KEY: STREAM,
      ALERT_STORM_PER_MINUTE: "1000",
      ALERT_SWEEP_MS: "200",
      ALERT_OUTBOX_REDELIVER_MS: "1000",
      SNAPSHOT_INTERVAL_MS: "100"
    })
    const put = async (path: string, body: unknown) =>
      (await fetch(`${node.url}${path}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).status
    expect(await put("/api/v1/webhooks/ops", { url: `http://127.0.0.1:${receiver.port}/hook`, secret: "s3cret-s3cret-s3cret" })).toBe(200)
    for (const sensor of SENSORS) {
      expect(await put(`/api/v1/sensors/${encodeURIComponent(sensor)}`, { rules: [{ id: "high", kind: "threshold", high: 90, severity: "critical" }] })).toBe(200)
    }
    // The COMMIT of these sensors' alerts sleeps (each opens once): the window in which the node loses its locks.
    await query(
      db.url,
      `create function slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(${COMMIT_SLEEP_S}); return null; end $$`
    )
    await query(
      db.url,
      `create constraint trigger slow_opened_commit after insert on alerts deferrable initially deferred
       for each row when (new.sensor in ('${SENSORS.join("', '")}')) execute function slow_commit()`
    )
    dashboard = await openSocket(wsUrl(node.url, "/ws/live"))
    dashboard.send({ type: "subscribe", sensors: [...SENSORS] })
    await dashboard.next((f) => f.type === "subscribed")
  })
  afterAll(async () => {
    await dashboard?.close()
    await node?.kill("SIGTERM")
    await db?.drop()
    await redis?.del(STREAM)
    redis?.disconnect()
    receiver?.close()
  })

  it("resolved at once: every channel still gets opened, then resolved, each counted once", async () => {
    const alertId = await raiseDuringShardLoss(SENSORS[0], t0)
    // The condition clears right away, before anyone was told of the alert: the same alert resolves.
    await post(SENSORS[0], 50, t0 + 1_000)
    await until(
      "the alert resolved",
      async () => (await query<{ status: string }>(db.url, "select status from alerts where id = $1", [alertId]))[0]?.status === "resolved" || undefined,
      30_000
    )
    const { live, stream, hooks } = await channels(SENSORS[0], alertId, 2)
    const expected = ["alert.opened", "alert.resolved"]
    expect(typesOnce(live)).toEqual(expected)
    expect(typesOnce(stream)).toEqual(expected)
    expect(typesOnce(hooks)).toEqual(expected)
    expect(await metricValue(node.url, OPENED)).toBe(1)
    expect(await metricValue(node.url, RESOLVED)).toBe(1)
  })

  it("nothing else happens to the alert: its opened still reaches every channel", async () => {
    const alertId = await raiseDuringShardLoss(SENSORS[1], t0)
    const { live, stream, hooks } = await channels(SENSORS[1], alertId, 1)
    for (const notes of [live, stream, hooks]) expect(typesOnce(notes)).toEqual(["alert.opened"])
    expect(await metricValue(node.url, OPENED)).toBe(2)
  })
})
