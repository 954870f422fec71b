/**
 * Alerting end to end on a real node, real PostgreSQL and real Redis: rules set through the sensors
 * API raise, update and clear alerts; the lifecycle and its history are in PostgreSQL; dashboards,
 * a Redis consumer group and a signed webhook each see every transition once; a storm is folded
 * into a summary; an outbox row left by a dead node is applied once; offline sensors are found.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { verifySignature } from "../../src/alerts/webhooks/signature.js"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { type HookReceiver, startHookReceiver, until } from "../support/hook-receiver.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { type NodeProcess, spawnNode } from "../support/node-process.js"
import { openSocket, wsUrl } from "../support/ws-client.js"

type HookBody = { id: number; type: string; alert: { sensor: string; rule: string; status: string } | null; summary: { suppressed: number; message: string } | null }

const SECRET = "s3cret-s3cret-s3cret"
const STREAM = `test:alerts:${process.pid}:${Date.now()}`

const put = async (url: string, body: unknown) => {
  const response = await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}


interface AlertJson {
  readonly id: number
  readonly sensor: string
  readonly rule: string
  readonly status: string
  readonly count: number
  readonly message: string
  readonly acknowledgedBy: string | null
  readonly resolvedBy: string | null
}

describe("alerts", () => {
  let db: TestDatabase
  let node: RunningNode
  let receiver: HookReceiver<HookBody>
  let hooks: HookReceiver<HookBody>["received"] = []
  let redis: Redis
  let t = Date.now() - 600_000

  const send = async (sensor: string, values: ReadonlyArray<number>) => {
    const readings = values.map((value) => {
      t += 10
      return { sensor, ts: t, value }
    })
    const r = await postJson(`${node.url}/api/v1/readings`, { readings })
    expect(r.status).toBe(202)
  }
  const alertsOf = async (query: string) => {
    const r = await getJson(`${node.url}/api/v1/alerts?${query}`)
    expect(r.status).toBe(200)
    return (r.body as { alerts: Array<AlertJson> }).alerts
  }
  const openAlert = (sensor: string, rule: string) =>
    until(`open alert ${sensor}/${rule}`, async () => (await alertsOf(`sensor=${encodeURIComponent(sensor)}&rule=${rule}&status=open`))[0])
  const rules = (id: string, list: ReadonlyArray<unknown>) => put(`${node.url}/api/v1/sensors/${encodeURIComponent(id)}`, { rules: list })

  beforeAll(async () => {
    receiver = await startHookReceiver<HookBody>()
    hooks = receiver.received
    redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true })
    await redis.connect()
    await redis.xgroup("CREATE", STREAM, "ops", "$", "MKSTREAM")
    db = await createTestDatabase("alerts")
    node = await startNode({
      DATABASE_URL: db.url,
      REDIS_URL: "redis://127.0.0.1:6379",
      ALERT_STREAM_KEY: STREAM,
      ALERT_COOLDOWN_MS: "1500",
      ALERT_UPDATE_INTERVAL_MS: "100",
      ALERT_STORM_PER_MINUTE: "3",
      ALERT_STORM_WINDOW_MS: "1500",
      ALERT_SWEEP_MS: "200",
      ALERT_OUTBOX_REDELIVER_MS: "300",
      SNAPSHOT_INTERVAL_MS: "100",
      LIVE_INTERVAL_MS: "10"
    })
    const port = receiver.port
    const hook = await put(`${node.url}/api/v1/webhooks/ops`, { url: `http://127.0.0.1:${port}/hook`, secret: SECRET, sensorPrefix: "plant-a/" })
    expect(hook.status).toBe(200)
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
    await redis?.del(STREAM)
    redis?.disconnect()
    receiver?.close()
  })

  it("rejects a bad rule with the field and the reason", async () => {
    const r = await rules("plant-a/bad", [{ id: "x", kind: "threshold" }])
    expect(r.status).toBeGreaterThanOrEqual(400)
    expect(r.status).toBeLessThan(500)
    expect(JSON.stringify(r.body)).toMatch(/rules\.0\.high: at least one of high or low is required/)
    const dup = await rules("plant-a/bad", [
      { id: "x", kind: "threshold", high: 1 },
      { id: "x", kind: "flatline", readings: 3 }
    ])
    expect(JSON.stringify(dup.body)).toMatch(/duplicate rule id/)
  })

  it("raises, updates, acknowledges and auto-resolves one alert, delivered once on every channel", async () => {
    const sensor = "plant-a/flow-1"
    expect((await rules(sensor, [{ id: "high", kind: "threshold", high: 90, deadband: 5, severity: "critical" }])).status).toBe(200)
    const dashboard = await openSocket(wsUrl(node.url, "/ws/live"))
    dashboard.send({ type: "subscribe", sensors: [sensor] })
    await dashboard.next((f) => f.type === "subscribed")
    const watcher = await openSocket(wsUrl(node.url, "/ws/live"))
    watcher.send({ type: "subscribe", alerts: true })
    expect((await watcher.next((f) => f.type === "subscribed")).alerts).toBe(true)

    await send(sensor, [50, 95])
    const opened = await openAlert(sensor, "high")
    expect(opened.message).toBe("value 95 > high 90")
    // Inside the deadband: still the same one alert, counted.
    await send(sensor, [96, 88, 97])
    // Updates go out at most every ALERT_UPDATE_INTERVAL_MS; the next breach after it carries the count.
    await new Promise((r) => setTimeout(r, 150))
    await send(sensor, [98])
    await until("count to grow", async () => ((await alertsOf(`sensor=${sensor}`))[0]?.count ?? 0) >= 4 || undefined)
    expect(await alertsOf(`sensor=${sensor}`)).toHaveLength(1)

    const ack = await postJson(`${node.url}/api/v1/alerts/${opened.id}/ack`, { by: "alice" })
    expect(ack.status).toBe(200)
    expect((ack.body as AlertJson).acknowledgedBy).toBe("alice")
    await send(sensor, [80])
    const resolved = await until("auto resolve", async () => (await alertsOf(`sensor=${sensor}&status=resolved`))[0])
    expect(resolved.resolvedBy).toBe("auto")
    const again = await postJson(`${node.url}/api/v1/alerts/${opened.id}/ack`, {})
    expect(again.status).toBe(409)

    const history = await getJson(`${node.url}/api/v1/alerts/${opened.id}`)
    const events = (history.body as { events: Array<{ event: string; actor: string | null }> }).events
    expect(events.map((e) => [e.event, e.actor])).toEqual([
      ["opened", null],
      ["acknowledged", "alice"],
      ["resolved", "auto"]
    ])

    const types = ["alert.opened", "alert.acknowledged", "alert.resolved"]
    const frames = await dashboard.collect((f) => f.type === "alert", 3)
    expect(frames.map((f) => (f.notification as { type: string }).type)).toEqual(types)
    // Every alert of the tenant reaches this watcher, also from other nodes on the same Redis: the sensor's are these three.
    const all = await watcher.collect((f) => f.type === "alert" && (f.notification as HookBody).alert?.sensor === sensor, 3)
    expect(all.map((f) => (f.notification as { type: string }).type)).toEqual(types)

    const mine = await until("3 webhook calls", async () => {
      const got = hooks.filter((h) => h.body.alert?.sensor === sensor)
      return got.length >= 3 ? got : undefined
    })
    expect(mine.map((h) => h.body.type)).toEqual(types)
    for (const h of mine) {
      expect(verifySignature(SECRET, h.text, h.headers, 300, Date.now())).toBe(true)
      expect(h.headers["x-flowmesh-event-id"]).toBe(String(h.body.id))
    }

    // A consumer group reads exactly these three, acks them, and nothing is left pending.
    const read = (await redis.xreadgroup("GROUP", "ops", "c1", "COUNT", 100, "STREAMS", STREAM, ">")) as Array<[string, Array<[string, Array<string>]>]>
    const entries = read[0]?.[1] ?? []
    const fields = entries.map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))))
    expect(fields.filter((f) => f.sensor === sensor).map((f) => f.type)).toEqual(types)
    expect(new Set(fields.map((f) => f.id)).size).toBe(fields.length)
    await redis.xack(STREAM, "ops", ...entries.map(([id]) => id))
    expect(((await redis.xpending(STREAM, "ops")) as [number])[0]).toBe(0)
    await dashboard.close()
    await watcher.close()
  })

  it("does not re-raise within the cooldown; re-raises after it while the condition holds", async () => {
    const sensor = "plant-b/level"
    await rules(sensor, [{ id: "low", kind: "threshold", low: 10 }])
    await send(sensor, [5])
    const first = await openAlert(sensor, "low")
    await send(sensor, [20])
    await until("resolved", async () => (await alertsOf(`sensor=${sensor}&status=resolved`))[0])
    const suppressedBefore = await counterValue(node.url, 'flowmesh_alerts_total{kind="threshold",severity="warning",event="suppressed"}')
    await send(sensor, [4])
    await until("suppressed", async () =>
      (await counterValue(node.url, 'flowmesh_alerts_total{kind="threshold",severity="warning",event="suppressed"}')) > suppressedBefore || undefined
    )
    expect(await alertsOf(`sensor=${sensor}&status=open`)).toHaveLength(0)
    // The condition persists: the sensor's periodic update raises it again once the cooldown is over.
    await new Promise((r) => setTimeout(r, 1_600))
    await send(sensor, [3])
    const second = await openAlert(sensor, "low")
    expect(second.id).not.toBe(first.id)
  })

  it("folds a storm into one summary per window on the paging channels", async () => {
    const before = hooks.length
    const sensors = Array.from({ length: 8 }, (_, i) => `plant-a/storm-${i}`)
    for (const s of sensors) await rules(s, [{ id: "high", kind: "threshold", high: 1 }])
    await Promise.all(sensors.map((s) => send(s, [5])))
    const summary = await until("a summary", async () => hooks.slice(before).find((h) => h.body.type === "alert.summary"))
    const opened = hooks.slice(before).filter((h) => h.body.type === "alert.opened")
    expect(opened.length).toBeLessThanOrEqual(3)
    expect(summary.body.summary?.suppressed).toBe(8 - opened.length)
    expect(summary.body.summary?.message).toBe(`and ${8 - opened.length} more alerts on plant-a`)
    // Every alert is still open in PostgreSQL: storm control limits pages, not alerts.
    const open = await Promise.all(sensors.map((s) => alertsOf(`sensor=${s}&status=open`)))
    expect(open.every((a) => a.length === 1)).toBe(true)
  })

  it("applies an outbox event left by a dead node exactly once", async () => {
    const sensor = "plant-c/pump"
    // The rule exists (an alert whose rule is gone would be cleared by the sweeper); its readings never breach it.
    expect((await rules(sensor, [{ id: "manual", kind: "threshold", high: 1_000 }])).status).toBe(200)
    const event = {
      sensor,
      rule: "manual",
      kind: "threshold",
      severity: "warning",
      signal: "raised",
      at: Date.now(),
      receivedAt: Date.now(),
      value: 1,
      count: 1,
      message: "left behind",
      cooldownMs: null
    }
    await node.sql("insert into alert_outbox (notifier, event) values ($1, $2::jsonb), ($1, $2::jsonb)", ["plant-c", JSON.stringify(event)])
    const alert = await openAlert(sensor, "manual")
    expect(alert.count).toBe(2)
    await until("outbox empty", async () => ((await node.sql<{ n: number }>("select count(*)::int as n from alert_outbox"))[0]?.n === 0 ? true : undefined))
    expect(await alertsOf(`sensor=${sensor}`)).toHaveLength(1)
    expect(await metricValue(node.url, "flowmesh_alert_outbox_redelivered_total")).toBeGreaterThanOrEqual(2)
  })

  it("removes and counts an outbox row whose event does not decode, and still applies the good rows beside it", async () => {
    const sensor = "plant-e/valve"
    expect((await rules(sensor, [{ id: "manual", kind: "threshold", high: 1_000 }])).status).toBe(200)
    const good = { sensor, rule: "manual", kind: "threshold", severity: "critical", signal: "raised", at: Date.now(), receivedAt: Date.now(), value: 1, count: 1, message: "beside a bad row", cooldownMs: null }
    const before = await metricValue(node.url, "flowmesh_alert_outbox_undecodable_total")
    await node.sql("insert into alert_outbox (notifier, event) values ($1, $2::jsonb), ($1, $3::jsonb)", [
      "plant-e",
      JSON.stringify({ sensor, rule: "manual", signal: "exploded" }),
      JSON.stringify(good)
    ])
    const alert = await openAlert(sensor, "manual")
    expect(alert.message).toBe("beside a bad row")
    await until("outbox empty", async () => ((await node.sql<{ n: number }>("select count(*)::int as n from alert_outbox"))[0]?.n === 0 ? true : undefined))
    expect(await metricValue(node.url, "flowmesh_alert_outbox_undecodable_total")).toBe(before + 1)
  })

  it("raises offline for a silent sensor and clears it when it reports again", async () => {
    const sensor = "plant-d/meter"
    await rules(sensor, [{ id: "silent", kind: "offline", afterSeconds: 1 }])
    t = Date.now()
    await send(sensor, [1])
    const started = Date.now()
    const alert = await openAlert(sensor, "silent")
    expect(alert.message).toMatch(/^no reading for \d+ s/)
    expect(Date.now() - started).toBeLessThan(5_000)
    t = Date.now()
    await send(sensor, [2])
    const cleared = await until("offline cleared", async () => (await alertsOf(`sensor=${sensor}&status=resolved`))[0])
    expect(cleared.resolvedBy).toBe("auto")
  })

  it("acknowledges idempotently and resolves by hand; every channel gets each transition once", async () => {
    // A site of its own: its notifier's storm window pages all three transitions.
    const sensor = "plant-h/valve"
    const hook = await put(`${node.url}/api/v1/webhooks/ops-h`, { url: `http://127.0.0.1:${receiver.port}/hook`, secret: SECRET, sensorPrefix: "plant-h/" })
    expect(hook.status).toBe(200)
    expect((await rules(sensor, [{ id: "high", kind: "threshold", high: 90 }])).status).toBe(200)
    const dashboard = await openSocket(wsUrl(node.url, "/ws/live"))
    dashboard.send({ type: "subscribe", sensors: [sensor] })
    await dashboard.next((f) => f.type === "subscribed")
    await send(sensor, [95])
    const opened = await openAlert(sensor, "high")

    const ack = await postJson(`${node.url}/api/v1/alerts/${opened.id}/ack`, { by: "alice" })
    expect(ack.status).toBe(200)
    expect(ack.body).toMatchObject({ status: "acknowledged", acknowledgedBy: "alice" })
    // A second acknowledgement changes nothing and answers the alert as it is.
    const ackAgain = await postJson(`${node.url}/api/v1/alerts/${opened.id}/ack`, { by: "bob" })
    expect(ackAgain.status).toBe(200)
    expect(ackAgain.body).toEqual(ack.body)

    const resolve = await postJson(`${node.url}/api/v1/alerts/${opened.id}/resolve`, { by: "carol" })
    expect(resolve.status).toBe(200)
    expect(resolve.body).toMatchObject({ status: "resolved", resolvedBy: "carol", acknowledgedBy: "alice" })
    const resolveAgain = await postJson(`${node.url}/api/v1/alerts/${opened.id}/resolve`, { by: "dave" })
    expect(resolveAgain.status).toBe(200)
    expect(resolveAgain.body).toEqual(resolve.body)
    expect((await postJson(`${node.url}/api/v1/alerts/${opened.id}/ack`, { by: "erin" })).status).toBe(409)
    expect((await postJson(`${node.url}/api/v1/alerts/999999/resolve`, {})).status).toBe(404)

    // One history row per transition: the repeated ack and resolve left none.
    const history = await getJson(`${node.url}/api/v1/alerts/${opened.id}`)
    const events = (history.body as { events: Array<{ event: string; actor: string | null }> }).events
    expect(events.map((e) => [e.event, e.actor])).toEqual([
      ["opened", null],
      ["acknowledged", "alice"],
      ["resolved", "carol"]
    ])
    const types = ["alert.opened", "alert.acknowledged", "alert.resolved"]
    const frames = await dashboard.collect((f) => f.type === "alert", 3)
    expect(frames.map((f) => (f.notification as { type: string }).type)).toEqual(types)
    const mine = await until("3 webhook calls", async () => {
      const got = hooks.filter((h) => h.body.alert?.sensor === sensor)
      return got.length >= 3 ? got : undefined
    })
    expect(mine.map((h) => h.body.type)).toEqual(types)
    expect(mine.map((h) => h.body.alert?.status)).toEqual(["open", "acknowledged", "resolved"])
    await dashboard.close()
  })

  it("removing a rule resolves its alert; deleting the sensor resolves the rest", async () => {
    const sensor = "plant-i/tank"
    const high = { id: "high", kind: "threshold", high: 90 }
    const veryHigh = { id: "very-high", kind: "threshold", high: 95, severity: "critical" }
    expect((await rules(sensor, [high, veryHigh])).status).toBe(200)
    const dashboard = await openSocket(wsUrl(node.url, "/ws/live"))
    dashboard.send({ type: "subscribe", sensors: [sensor] })
    await dashboard.next((f) => f.type === "subscribed")
    await send(sensor, [99])
    const first = await openAlert(sensor, "high")
    const second = await openAlert(sensor, "very-high")

    expect((await rules(sensor, [high])).status).toBe(200)
    const gone = await until("the removed rule's alert resolved", async () => (await alertsOf(`sensor=${sensor}&rule=very-high&status=resolved`))[0])
    expect(gone).toMatchObject({ id: second.id, resolvedBy: "auto" })
    expect((await alertsOf(`sensor=${sensor}&status=open`)).map((a) => a.id)).toEqual([first.id])

    const removed = await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(sensor)}`, { method: "DELETE" })
    expect(removed.status).toBeLessThan(300)
    const last = await until("the deleted sensor's alert resolved", async () => (await alertsOf(`sensor=${sensor}&rule=high&status=resolved`))[0])
    expect(last).toMatchObject({ id: first.id, resolvedBy: "auto" })
    const resolved = await dashboard.collect((f) => f.type === "alert" && (f.notification as { type: string }).type === "alert.resolved", 2)
    expect(resolved.map((f) => (f.notification as HookBody).alert?.rule)).toEqual(["very-high", "high"])
    await dashboard.close()
  })

  it("lists with filters and pages newest first", async () => {
    const page1 = await getJson(`${node.url}/api/v1/alerts?limit=2`)
    const body = page1.body as { alerts: Array<AlertJson>; next: string | null }
    expect(body.alerts).toHaveLength(2)
    expect(body.alerts[0]!.id).toBeGreaterThan(body.alerts[1]!.id)
    expect(body.next).not.toBeNull()
    const page2 = (await getJson(`${node.url}${body.next}`)).body as { alerts: Array<AlertJson> }
    expect(page2.alerts[0]!.id).toBeLessThan(body.alerts[1]!.id)
    expect((await getJson(`${node.url}/api/v1/alerts?status=bogus`)).status).toBe(400)
    expect((await getJson(`${node.url}/api/v1/alerts/999999`)).status).toBe(404)
  })
})



describe("alerts of a sensor deleted while passivated", () => {
  let db: TestDatabase
  let node: NodeProcess

  beforeAll(async () => {
    db = await createTestDatabase("alerts_passivated")
    node = await spawnNode({ DATABASE_URL: db.url, ENTITY_MAX_IDLE_MS: "1000", SNAPSHOT_INTERVAL_MS: "100", ALERT_SWEEP_MS: "200", ALERT_OUTBOX_REDELIVER_MS: "300" })
  })
  afterAll(async () => {
    await node?.kill("SIGTERM")
    await db?.drop()
  })

  it("resolves them although no actor holds the sensor's rules any more", async () => {
    const sensor = "plant-p/idle"
    const put = await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(sensor)}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [{ id: "high", kind: "threshold", high: 90 }] })
    })
    expect(put.status).toBe(200)
    expect((await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor, value: 95 }] })).status).toBe(202)
    const alertOf = async () => ((await getJson(`${node.url}/api/v1/alerts?sensor=${encodeURIComponent(sensor)}`)).body as { alerts: Array<AlertJson> }).alerts[0]
    const opened = await until("the alert opened", async () => ((await alertOf())?.status === "open" ? true : undefined))
    expect(opened).toBe(true)
    await until("the sensor passivated", async () => ((await metricValue(node.url, "flowmesh_active_sensors")) === 0 ? true : undefined))

    expect((await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(sensor)}`, { method: "DELETE" })).status).toBeLessThan(300)
    const resolved = await until("the alert resolved", async () => {
      const a = await alertOf()
      return a?.status === "resolved" ? a : undefined
    })
    expect(resolved.resolvedBy).toBe("auto")
  })
})
