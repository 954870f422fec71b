/**
 * A webhook never gets a later event of an alert before an earlier one, wherever the earlier one is
 * held: here the alert's `opened` delivery is leased to another node (a node that died, or lost the
 * notifier and still holds it) while this node is handed the `resolved`. This node must leave the
 * `resolved` alone until the `opened` was delivered (by whoever takes it when its lease expires).
 */
import { createServer } from "node:http"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, Logger, LogLevel } from "effect"
import type { Notification, NotificationType } from "../../src/domain/notification.js"
import { WebhookDispatcher } from "../../src/alerts/webhooks/dispatcher.js"
import { AppConfig } from "../../src/config.js"
import { DatabaseLive } from "../../src/storage/database.js"
import { WebhookRepo } from "../../src/storage/webhook-repo.js"
import { createTestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"

/** Receives webhook calls and resolves a waiter once `count` have arrived; keeps their event ids in arrival order. */
const makeReceiver = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly ids: Array<number>; readonly close: () => void }>((resume) => {
    const ids: Array<number> = []
    const server = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        ids.push(Number(req.headers["x-flowmesh-event-id"]))
        res.writeHead(200).end()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(Effect.succeed({ port: typeof address === "object" && address !== null ? address.port : 0, ids, close: () => server.close() }))
    })
  }),
  (r) => Effect.sync(r.close)
)
class Receiver extends Context.Tag("test/OrderReceiver")<Receiver, Effect.Effect.Success<typeof makeReceiver>>() {}

const TestLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => createTestDatabase("webhook_order")),
      (d) => Effect.promise(() => d.drop())
    )
    const settings = { DATABASE_URL: db.url, ALERT_SWEEP_MS: "100", WEBHOOK_LEASE_MS: "1000", WEBHOOK_BACKOFF_BASE_MS: "20" }
    const config = AppConfig.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings))))))
    return WebhookDispatcher.Default.pipe(Layer.provideMerge(WebhookRepo.Default), Layer.provideMerge(DatabaseLive), Layer.provideMerge(config))
  })
).pipe(Layer.merge(Layer.scoped(Receiver, makeReceiver)), Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))

const note = (id: number, type: NotificationType, alertId: number): Notification => ({
  id,
  type,
  at: Date.now(),
  tenant: "default",
  notifier: "site-1",
  severity: "critical",
  alert: {
    id: alertId,
    notifier: "site-1",
    sensor: "site-1/pump",
    rule: "high",
    kind: "threshold",
    severity: "critical",
    status: type === "alert.opened" ? "open" : "resolved",
    message: "value 95 > high 90",
    value: 95,
    count: 1,
    openedAt: Date.now(),
    lastSeen: Date.now(),
    acknowledgedAt: null,
    acknowledgedBy: null,
    resolvedAt: type === "alert.opened" ? null : Date.now(),
    resolvedBy: type === "alert.opened" ? null : "auto"
  },
  summary: null
})

const HELD_ELSEWHERE_MS = 1_500

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("webhook order per alert", (it) => {
  it.effect("a resolved handed to this node waits for its opened leased to another node; an expired resolved waits for it too", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* WebhookRepo
      const dispatcher = yield* WebhookDispatcher
      const receiver = yield* Receiver
      yield* repo.put("ord", { url: `http://127.0.0.1:${receiver.port}/ord`, secret: "s3cret-of-sixteen-chars", sensorPrefix: null, rules: null, minSeverity: "info", enabled: true })
      // Alert 7: its opened is held by another node for a while; its resolved is handed to this node's dispatcher.
      // Alert 8: the same, but its resolved is a row nobody holds (its lease expired), for the recovery loop.
      const opened7 = note(101, "alert.opened", 7)
      const opened8 = note(201, "alert.opened", 8)
      yield* sql`
        insert into webhook_deliveries (webhook_id, event_id, payload, leased_until)
        values ('ord', 101, ${JSON.stringify(opened7)}::jsonb, now() + ${HELD_ELSEWHERE_MS} * interval '1 millisecond'),
               ('ord', 201, ${JSON.stringify(opened8)}::jsonb, now() + ${HELD_ELSEWHERE_MS} * interval '1 millisecond'),
               ('ord', 202, ${JSON.stringify(note(202, "alert.resolved", 8))}::jsonb, now() - interval '1 second')`
      const handed = yield* sql.withTransaction(repo.insertDeliveries([note(102, "alert.resolved", 7)], 60_000))
      expect(handed).toHaveLength(1)
      dispatcher.enqueue(handed)

      yield* Effect.promise(() => until("four deliveries", async () => (receiver.ids.length >= 4 ? true : undefined), 20_000))
      const arrived = [...receiver.ids]
      expect([...arrived].sort((a, b) => a - b)).toEqual([101, 102, 201, 202])
      expect(arrived.indexOf(101)).toBeLessThan(arrived.indexOf(102))
      expect(arrived.indexOf(201)).toBeLessThan(arrived.indexOf(202))
      const pending = sql<{ n: number }>`select count(*)::int4 as n from webhook_deliveries`.pipe(Effect.map((rows) => rows[0]?.n))
      yield* Effect.promise(() => until("every delivery row deleted", () => Effect.runPromise(pending).then((n) => (n === 0 ? true : undefined))))
    })
  )
})
