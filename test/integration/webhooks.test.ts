/**
 * Webhook delivery end to end: a fresh PostgreSQL database, the dispatcher with small timings, the
 * webhooks API over real HTTP, and a real receiver on 127.0.0.1 told per path how to answer (status,
 * or hang). Every scenario has its own webhook, scoped by sensor prefix, so their traffic never mixes.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Logger, LogLevel, Schedule } from "effect"
import type { Notification, Severity } from "../../src/domain/notification.js"
import { WebhookDispatcher } from "../../src/alerts/webhooks/dispatcher.js"
import { verifySignature } from "../../src/alerts/webhooks/signature.js"
import { AppConfig } from "../../src/config.js"
import { WebhooksApi } from "../../src/http/webhooks-api.js"
import { WebhooksHandlersLive } from "../../src/http/webhooks-handlers.js"
import { DatabaseLive } from "../../src/storage/database.js"
import { WebhookRepo } from "../../src/storage/webhook-repo.js"
import { registry } from "../../src/telemetry/metrics.js"
import { createTestDatabase } from "../support/databases.js"

type Action = { readonly status: number } | "hang"

interface Received {
  readonly path: string
  readonly eventId: number
  readonly eventType: string
  readonly body: string
  readonly headers: IncomingHttpHeaders
  readonly at: number
  readonly action: Action
}

/** The webhook target: per path, scripted answers first, then the fallback (200 unless told). */
const makeReceiver = Effect.acquireRelease(
  Effect.async<{ port: number; state: ReceiverState; close: () => void }>((resume) => {
    const state = new ReceiverState()
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const path = req.url ?? "/"
        const action = state.script.get(path)?.shift() ?? state.fallback.get(path) ?? { status: 200 }
        state.record({
          path,
          eventId: Number(req.headers["x-flowmesh-event-id"]),
          eventType: String(req.headers["x-flowmesh-event-type"]),
          body: Buffer.concat(chunks).toString("utf8"),
          headers: req.headers,
          at: Date.now(),
          action
        })
        if (action !== "hang") res.writeHead(action.status, { "content-type": "text/plain" }).end("ok")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(
        Effect.succeed({
          port,
          state,
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        })
      )
    })
  }),
  (r) => Effect.sync(r.close)
)

class ReceiverState {
  readonly script = new Map<string, Array<Action>>()
  readonly fallback = new Map<string, Action>()
  readonly received: Array<Received> = []
  private waiters: Array<{ readonly match: (r: Received) => boolean; readonly resolve: (r: Received) => void }> = []

  record(r: Received) {
    this.received.push(r)
    const ready = this.waiters.filter((w) => w.match(r))
    this.waiters = this.waiters.filter((w) => !w.match(r))
    for (const w of ready) w.resolve(r)
  }

  on(path: string) {
    return this.received.filter((r) => r.path === path)
  }

  /** The first request (already received or to come) matching; fails after 5 s. */
  next(match: (r: Received) => boolean, after = 0): Effect.Effect<Received> {
    const seen = this.received.find((r) => r.at >= after && match(r))
    if (seen !== undefined) return Effect.succeed(seen)
    return Effect.async<Received>((resume) => {
      const waiter = { match, resolve: (r: Received) => resume(Effect.succeed(r)) }
      this.waiters.push(waiter)
      return Effect.sync(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
      })
    }).pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("no such request within 5 s") }), Effect.orDie)
  }
}

class Receiver extends Context.Tag("test/Receiver")<Receiver, Effect.Effect.Success<typeof makeReceiver>>() {}

const SETTINGS = {
  WEBHOOK_TIMEOUT_MS: "200",
  WEBHOOK_MAX_ATTEMPTS: "5",
  WEBHOOK_BACKOFF_BASE_MS: "20",
  WEBHOOK_BACKOFF_MAX_MS: "100",
  WEBHOOK_BREAKER_FAILURES: "3",
  WEBHOOK_BREAKER_OPEN_MS: "300",
  WEBHOOK_LEASE_MS: "1000",
  WEBHOOK_QUEUE_MAX: "100",
  ALERT_SWEEP_MS: "200"
}

class TestApi extends HttpApi.make("flowmesh").add(WebhooksApi) {}

const ApiServerLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(TestApi).pipe(Layer.provide(WebhooksHandlersLive))),
  Layer.provideMerge(NodeHttpServer.layerTest)
)

const TestLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => createTestDatabase("webhooks")),
      (d) => Effect.promise(() => d.drop())
    )
    const config = AppConfig.layer.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ DATABASE_URL: db.url, ...SETTINGS })))))
    )
    return ApiServerLive.pipe(
      Layer.provideMerge(WebhookDispatcher.Default),
      Layer.provideMerge(WebhookRepo.Default),
      Layer.provideMerge(DatabaseLive),
      Layer.provideMerge(config)
    )
  })
).pipe(Layer.merge(Layer.scoped(Receiver, makeReceiver)), Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))

const SECRET = "s3cret-of-sixteen-chars"
let nextEventId = 1000

const alertNotification = (sensor: string, options: { rule?: string; severity?: Severity; tenant?: string } = {}): Notification => {
  const at = Date.now()
  const severity = options.severity ?? "warning"
  return {
    id: nextEventId++,
    type: "alert.opened",
    at,
    tenant: options.tenant ?? "default",
    notifier: sensor.split("/")[0] ?? sensor,
    severity,
    alert: {
      id: nextEventId,
      notifier: sensor.split("/")[0] ?? sensor,
      sensor,
      rule: options.rule ?? "high-temp",
      kind: "threshold",
      severity,
      status: "open",
      message: "value above 90",
      value: 91.5,
      count: 1,
      openedAt: at,
      lastSeen: at,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolvedBy: null
    },
    summary: null
  }
}

const summaryNotification = (notifier: string): Notification => ({
  id: nextEventId++,
  type: "alert.summary",
  at: Date.now(),
  tenant: "default",
  notifier,
  severity: "warning",
  alert: null,
  summary: { suppressed: 12, from: Date.now() - 60_000, to: Date.now(), message: "12 notifications suppressed" }
})

/** Creates the webhook through the API, pointing at `/<id>` on the receiver. */
const createWebhook = (id: string, fields: { sensorPrefix?: string; rules?: Array<string>; minSeverity?: Severity; enabled?: boolean }) =>
  Effect.gen(function* () {
    const { port } = yield* Receiver
    const client = yield* HttpApiClient.make(TestApi)
    return yield* client.webhooks.put({ path: { id }, payload: { url: `http://127.0.0.1:${port}/${id}`, secret: SECRET, ...fields } })
  })

/** Commits the notifications' delivery rows in a transaction, then hands them to the dispatcher. */
const notify = (notifications: ReadonlyArray<Notification>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* WebhookRepo
    const { webhooks } = yield* AppConfig
    const deliveries = yield* sql.withTransaction(repo.insertDeliveries(notifications, webhooks.leaseMs))
    const dispatcher = yield* WebhookDispatcher
    dispatcher.enqueue(deliveries)
    return deliveries
  })

const pendingRows = (webhookId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number }>`select count(*)::int4 as n from webhook_deliveries where webhook_id = ${webhookId}`
  ).pipe(Effect.map((rows) => rows[0]?.n ?? -1))

/** Polls a condition that no event announces (a row deleted after the answer), for up to 5 s. */
const eventually = <A, E, R>(check: Effect.Effect<A, E, R>, ok: (a: A) => boolean) =>
  check.pipe(
    Effect.filterOrFail(ok, () => "not yet"),
    Effect.retry({ schedule: Schedule.spaced("10 millis"), times: 500 }),
    Effect.orDie
  )

const verified = (r: Received) => verifySignature(SECRET, r.body, r.headers, 300, Date.now())

const breakerGauge = (webhookId: string) =>
  Effect.promise(() => registry.getSingleMetric("flowmesh_webhook_breaker_open")?.get() ?? Promise.resolve(undefined)).pipe(
    Effect.map((m) => m?.values.find((v) => v.labels.webhook === webhookId)?.value)
  )

const counter = (outcome: string) =>
  Effect.promise(() => registry.getSingleMetric("flowmesh_webhook_deliveries_total")?.get() ?? Promise.resolve(undefined)).pipe(
    Effect.map((m) => m?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0)
  )

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("webhook delivery", (it) => {
  it.effect("routes each notification to the enabled webhooks whose prefix, rules and severity match, once", () =>
    Effect.gen(function* () {
      yield* createWebhook("r-all", {})
      yield* createWebhook("r-line", { sensorPrefix: "plant-1/line-2/" })
      yield* createWebhook("r-plant", { sensorPrefix: "plant-1/" })
      yield* createWebhook("r-rules", { rules: ["high-temp"] })
      yield* createWebhook("r-critical", { minSeverity: "critical" })
      yield* createWebhook("r-off", { enabled: false })
      const sql = yield* SqlClient.SqlClient
      // Tenant acme's webhook (its id inside the node carries the tenant), with the same prefix as r-plant.
      yield* sql`insert into webhooks (id, url, secret, sensor_prefix) values ('acme~r-plant', 'http://127.0.0.1:9/', ${SECRET}, 'plant-1/')`
      const hot = alertNotification("plant-1/line-2/t1", { rule: "high-temp" })
      const acme = alertNotification("plant-1/line-2/t1", { rule: "high-temp", tenant: "acme" })
      const battery = alertNotification("plant-2/x", { rule: "low-battery", severity: "critical" })
      const summary = summaryNotification("plant-1")
      const info = alertNotification("plant-1/line-2/t2", { rule: "other", severity: "info" })
      const repo = yield* WebhookRepo

      // Inside a transaction that rolls back, nothing stays.
      yield* sql.withTransaction(Effect.zipRight(repo.insertDeliveries([hot], 1000), Effect.fail("rollback"))).pipe(Effect.flip)
      const routed = sql<{ n: number }>`select count(*)::int4 as n from webhook_deliveries where webhook_id like 'r-%' or webhook_id = 'acme~r-plant'`
      expect(yield* routed).toEqual([{ n: 0 }])

      const rows = yield* sql.withTransaction(repo.insertDeliveries([hot, battery, summary, info, acme], 1000))
      const to = (n: Notification) => rows.filter((d) => d.eventId === n.id).map((d) => d.webhookId).sort()
      expect(to(hot)).toEqual(["r-all", "r-line", "r-plant", "r-rules"])
      expect(to(battery)).toEqual(["r-all", "r-critical"])
      expect(to(summary)).toEqual(["r-all", "r-plant", "r-rules"])
      expect(to(info)).toEqual(["r-all", "r-line", "r-plant"])
      // Each tenant's notifications reach only that tenant's webhooks.
      expect(to(acme)).toEqual(["acme~r-plant"])
      const first = rows.find((d) => d.eventId === summary.id)
      expect(first?.eventType).toBe("alert.summary")
      expect(first?.attempts).toBe(0)
      expect(JSON.parse(first?.payload ?? "null")).toEqual(summary)
      // Committed twice (a retried transaction): no second row.
      expect(yield* repo.insertDeliveries([hot, battery, summary, info, acme], 1000)).toEqual([])
      for (const id of ["r-all", "r-line", "r-plant", "r-rules", "r-critical", "r-off", "acme~r-plant"]) yield* repo.remove(id)
    })
  )

  it.effect("(a) a target failing twice then answering 200 gets the event once more, signed; the row is deleted", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      receiver.script.set("/a", [{ status: 500 }, { status: 500 }])
      yield* createWebhook("a", { sensorPrefix: "a/" })
      const [delivery] = yield* notify([alertNotification("a/t1")])
      const ok = yield* receiver.next((r) => r.path === "/a" && r.action !== "hang" && r.action.status === 200)
      expect(ok.eventId).toBe(delivery?.eventId)
      expect(ok.eventType).toBe("alert.opened")
      expect(ok.headers["content-type"]).toBe("application/json")
      expect(verified(ok)).toBe(true)
      expect(JSON.parse(ok.body)).toMatchObject({ id: delivery?.eventId, alert: { sensor: "a/t1" } })
      expect(receiver.on("/a").map((r) => r.action)).toEqual([{ status: 500 }, { status: 500 }, { status: 200 }])
      expect(receiver.on("/a").every(verified)).toBe(true)
      yield* eventually(pendingRows("a"), (n) => n === 0)
    })
  )

  it.effect("(b) a hanging then failing target opens the breaker: nothing is sent until the probe, then the queue drains in order", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      const dispatcher = yield* WebhookDispatcher
      receiver.script.set("/b", ["hang", { status: 500 }, { status: 500 }])
      receiver.fallback.set("/b", { status: 500 })
      yield* createWebhook("b", { sensorPrefix: "b/" })
      const events = [alertNotification("b/t1"), alertNotification("b/t2"), alertNotification("b/t3")]
      yield* notify(events)
      yield* receiver.next((r) => r.path === "/b" && receiver.on("/b").length === 3)
      const open = yield* eventually(
        Effect.sync(() => dispatcher.inspect("b")?.breaker),
        (s) => s?._tag === "open"
      )
      const until = open?._tag === "open" ? open.until : 0
      expect(yield* breakerGauge("b")).toBe(1)
      expect(receiver.on("/b").map((r) => r.eventId)).toEqual([events[0]?.id, events[0]?.id, events[0]?.id])
      receiver.fallback.set("/b", { status: 200 })
      const probe = yield* receiver.next((r) => r.path === "/b" && r.action !== "hang" && r.action.status === 200)
      // The fourth request is the probe, sent once the open time was over (no request while open).
      expect(receiver.on("/b").indexOf(probe)).toBe(3)
      expect(probe.at).toBeGreaterThanOrEqual(until - 2)
      expect(probe.eventId).toBe(events[0]?.id)
      yield* receiver.next((r) => r.path === "/b" && r.eventId === events[2]?.id)
      expect(receiver.on("/b").slice(3).map((r) => r.eventId)).toEqual(events.map((e) => e.id))
      expect(dispatcher.inspect("b")?.breaker._tag ?? "closed").toBe("closed")
      expect(yield* breakerGauge("b")).not.toBe(1)
      yield* eventually(pendingRows("b"), (n) => n === 0)
    })
  )

  it.effect("(c) permanent answers and exhausted retries become dead letters; replay delivers them once the target recovers", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      const client = yield* HttpApiClient.make(TestApi)
      receiver.fallback.set("/c", { status: 400 })
      receiver.fallback.set("/m", { status: 500 })
      yield* createWebhook("c", { sensorPrefix: "c/" })
      yield* createWebhook("m", { sensorPrefix: "m/" })
      const rejected = [alertNotification("c/t1"), alertNotification("c/t2")]
      const exhausted = alertNotification("m/t1")
      yield* notify([...rejected, exhausted])
      const letters = (webhook: string) =>
        client.webhooks.deadLetters({ urlParams: { webhook } }).pipe(Effect.map((page) => page.deadLetters))
      const c = yield* eventually(letters("c"), (l) => l.length === 2)
      // In the order they failed (the target's queue is ordered), paged by `after`.
      expect(c.map((l) => l.eventId)).toEqual(rejected.map((e) => e.id))
      expect(c[0]).toMatchObject({ webhookId: "c", eventId: rejected[0]?.id, eventType: "alert.opened", attempts: 1, lastError: "http 400" })
      expect(c[0]?.payload).toEqual(rejected[0])
      expect(receiver.on("/c")).toHaveLength(2)
      const [m] = yield* eventually(letters("m"), (l) => l.length === 1)
      expect(m).toMatchObject({ webhookId: "m", eventId: exhausted.id, attempts: 5, lastError: "http 500" })
      expect(receiver.on("/m")).toHaveLength(5)
      expect(yield* pendingRows("c")).toBe(0)
      expect(yield* pendingRows("m")).toBe(0)
      const page = yield* client.webhooks.deadLetters({ urlParams: { webhook: "c", limit: 1 } })
      expect(page.deadLetters.map((l) => l.eventId)).toEqual([rejected[0]?.id])
      const rest = yield* client.webhooks.deadLetters({ urlParams: { webhook: "c", after: page.next ?? 0 } })
      expect(rest.deadLetters.map((l) => l.eventId)).toEqual([rejected[1]?.id])

      receiver.fallback.set("/c", { status: 200 })
      receiver.fallback.set("/m", { status: 204 })
      const since = Date.now()
      expect(yield* client.webhooks.replay({ path: { id: "c" } })).toEqual({ replayed: 2 })
      expect(yield* client.webhooks.replay({ path: { id: "m" } })).toEqual({ replayed: 1 })
      const c2 = yield* receiver.next((r) => r.path === "/c" && r.eventId === rejected[1]?.id, since)
      const m2 = yield* receiver.next((r) => r.path === "/m" && r.eventId === exhausted.id, since)
      expect(verified(c2) && verified(m2)).toBe(true)
      yield* eventually(pendingRows("c"), (n) => n === 0)
      yield* eventually(pendingRows("m"), (n) => n === 0)
      // Replayed in order, each once.
      expect(receiver.on("/c").filter((r) => r.at >= since).map((r) => r.eventId)).toEqual(rejected.map((e) => e.id))
      expect(yield* letters("c")).toEqual([])
      expect(yield* client.webhooks.replay({ path: { id: "c" } })).toEqual({ replayed: 0 })
    })
  )

  it.effect("(e) a hanging target does not delay a healthy one", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      receiver.fallback.set("/slow", "hang")
      yield* createWebhook("slow", { sensorPrefix: "e/slow/" })
      yield* createWebhook("fast", { sensorPrefix: "e/fast/" })
      const slow = [alertNotification("e/slow/t1"), alertNotification("e/slow/t2")]
      const fast = [alertNotification("e/fast/t1"), alertNotification("e/fast/t2"), alertNotification("e/fast/t3")]
      yield* notify([...slow, ...fast])
      yield* receiver.next((r) => r.path === "/slow")
      const last = yield* receiver.next((r) => r.path === "/fast" && r.eventId === fast[2]?.id)
      expect(receiver.on("/fast").map((r) => r.eventId)).toEqual(fast.map((e) => e.id))
      // The slow target's first event hangs through every attempt (each WEBHOOK_TIMEOUT_MS, the
      // breaker open in between) before its second is tried: the fast one was done before that.
      const slowSecond = receiver.received.findIndex((r) => r.path === "/slow" && r.eventId === slow[1]?.id)
      expect(slowSecond === -1 || slowSecond > receiver.received.indexOf(last)).toBe(true)
      const client = yield* HttpApiClient.make(TestApi)
      yield* client.webhooks.delete({ path: { id: "slow" } })
      yield* client.webhooks.delete({ path: { id: "fast" } })
    })
  )

  it.effect("(f) a row whose lease expired (its node died) is delivered by the recovery loop", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      const sql = yield* SqlClient.SqlClient
      yield* createWebhook("f", { sensorPrefix: "f/" })
      const orphan = alertNotification("f/t1")
      yield* sql`
        insert into webhook_deliveries (webhook_id, event_id, payload, attempts, leased_until)
        values ('f', ${orphan.id}, ${JSON.stringify(orphan)}::jsonb, 2, now() - interval '1 second')`
      const received = yield* receiver.next((r) => r.path === "/f")
      expect(received.eventId).toBe(orphan.id)
      expect(JSON.parse(received.body)).toEqual(orphan)
      expect(verified(received)).toBe(true)
      yield* eventually(pendingRows("f"), (n) => n === 0)
    })
  )

  it.effect("(g) deliveries that overflow a full queue wait in PostgreSQL and are delivered after their lease", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      const { webhooks } = yield* AppConfig
      yield* createWebhook("o", { sensorPrefix: "o/" })
      const overflowBefore = yield* counter("overflow")
      const events = Array.from({ length: webhooks.queueMax + 5 }, (_, i) => alertNotification(`o/t${i}`))
      yield* notify(events)
      expect((yield* counter("overflow")) - overflowBefore).toBe(5)
      yield* receiver.next((r) => r.path === "/o" && receiver.on("/o").length === events.length)
      // The queued ones in order; the overflowed ones after them, once their lease expired.
      expect(receiver.on("/o").map((r) => r.eventId)).toEqual(events.map((e) => e.id))
      yield* eventually(pendingRows("o"), (n) => n === 0)
    })
  )

  it.effect("the API never returns a secret, validates what it stores and answers 404 for unknown webhooks", () =>
    Effect.gen(function* () {
      const client = yield* HttpApiClient.make(TestApi)
      yield* createWebhook("l-b", { rules: ["high-temp"], minSeverity: "critical" })
      yield* createWebhook("l-a", { sensorPrefix: "l/" })
      const { webhooks } = yield* client.webhooks.list()
      const ids = webhooks.map((w) => w.id)
      expect(ids).toEqual([...ids].sort())
      expect(ids).toEqual(expect.arrayContaining(["l-a", "l-b"]))
      expect(JSON.stringify(webhooks)).not.toContain(SECRET)
      expect(webhooks.every((w) => w.secretSet)).toBe(true)
      expect(webhooks.find((w) => w.id === "l-a")).toMatchObject({ sensorPrefix: "l/", rules: null, minSeverity: "info", enabled: true })
      expect(webhooks.find((w) => w.id === "l-b")).toMatchObject({ sensorPrefix: null, rules: ["high-temp"], minSeverity: "critical", enabled: true })
      yield* client.webhooks.delete({ path: { id: "l-a" } })
      yield* client.webhooks.delete({ path: { id: "l-b" } })

      const { port } = yield* Receiver
      const base = yield* Effect.map(HttpServer.HttpServer, ({ address }) =>
        address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}` : ""
      )
      const put = (id: string, body: unknown) =>
        Effect.promise(() =>
          fetch(`${base}/api/v1/webhooks/${id}`, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body)
          }).then((r) => r.status)
        )
      const good = { url: `http://127.0.0.1:${port}/x`, secret: SECRET }
      expect(yield* put("x", { ...good, url: "ftp://example.com/hook" })).toBe(400)
      expect(yield* put("x", { ...good, url: "not a url" })).toBe(400)
      expect(yield* put("x", { ...good, secret: "short" })).toBe(400)
      expect(yield* put("x", { ...good, extra: true })).toBe(400)
      expect(yield* put("x", { ...good, minSeverity: "fatal" })).toBe(400)
      expect(yield* put("bad id!", good)).toBe(400)
      expect(yield* put("x", good)).toBe(200)
      const notFound = yield* client.webhooks.delete({ path: { id: "missing" } }).pipe(Effect.flip)
      expect(notFound).toMatchObject({ error: "webhook_not_found" })
      const replayMissing = yield* client.webhooks.replay({ path: { id: "missing" } }).pipe(Effect.flip)
      expect(replayMissing).toMatchObject({ error: "webhook_not_found" })
      yield* client.webhooks.delete({ path: { id: "x" } })
    })
  )

  it.effect("(d) a receiver accepts each event once, through failures, timeouts, a lease taken over and a retried commit", () =>
    Effect.gen(function* () {
      const receiver = (yield* Receiver).state
      const sql = yield* SqlClient.SqlClient
      const repo = yield* WebhookRepo
      receiver.script.set("/d", [{ status: 500 }, "hang", { status: 503 }])
      yield* createWebhook("d", { sensorPrefix: "d/" })
      const events = Array.from({ length: 20 }, (_, i) => alertNotification(`d/t${i}`))
      yield* notify(events)
      // The same notifications committed again (a retried transaction) add no rows.
      expect(yield* sql.withTransaction(repo.insertDeliveries(events, 1000))).toEqual([])
      // A row left behind by a node that died, taken over by the recovery loop.
      const orphan = alertNotification("d/orphan")
      yield* sql`
        insert into webhook_deliveries (webhook_id, event_id, payload, attempts, leased_until)
        values ('d', ${orphan.id}, ${JSON.stringify(orphan)}::jsonb, 1, now() - interval '1 second')`
      yield* receiver.next((r) => r.path === "/d" && r.eventId === orphan.id && r.action !== "hang" && r.action.status === 200)
      yield* eventually(pendingRows("d"), (n) => n === 0)
      const accepted = receiver.on("/d").filter((r) => r.action !== "hang" && r.action.status < 300).map((r) => r.eventId)
      expect([...accepted].sort((a, b) => a - b)).toEqual([...events, orphan].map((e) => e.id))
    })
  )
})
