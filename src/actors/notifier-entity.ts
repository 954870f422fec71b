/**
 * The Notifier actor: one per site (see notifier-protocol.ts). It applies the alert events of its
 * sensors exactly once (claiming their outbox rows in the same transaction), keeps the lifecycle in
 * PostgreSQL (`open → acknowledged → resolved`, one unresolved alert per sensor and rule, cooldown
 * before a rule re-raises) and fans every transition out: dashboards always, the Redis stream and
 * webhooks within the storm limit, the rest folded into one summary per minute.
 */
import { Entity } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Layer } from "effect"
import { AlertStream } from "../alerts/alert-stream.js"
import { type Notification, type NotificationType, outwardAlert } from "../alerts/notification.js"
import { WebhookDispatcher } from "../alerts/webhooks/dispatcher.js"
import { AppConfig } from "../config.js"
import { externalId, tenantOf } from "../domain/tenancy.js"
import { LiveFeed } from "../live/live-feed.js"
import { AlertRepo, type Transition } from "../storage/alert-repo.js"
import { WebhookRepo } from "../storage/webhook-repo.js"
import { logWarning } from "../telemetry/log.js"
import { alertLatency, alertNotifications, alertsOpen, alertTransitions } from "../telemetry/metrics.js"
import { type AlertEntry, afterAction, decideAlert, isForgettable } from "./core/alert-lifecycle.js"
import { admit, closeWindow, createStormWindow, summaryMessage } from "./core/storm.js"
import { AlertAlreadyResolved, AlertNotFound, Notifier, NotifierUnavailable, type OutboxEntry } from "./notifier-protocol.js"

const keyOf = (sensor: string, rule: string): string => `${sensor}\u0000${rule}`

const behaviour = Effect.gen(function* () {
  const notifier = (yield* Entity.CurrentAddress).entityId
  // What its notifications say: the tenant, and the site as the tenant names it.
  const tenant = tenantOf(notifier)
  const site = externalId(notifier)
  const sql = yield* SqlClient.SqlClient
  const repo = yield* AlertRepo
  const webhooks = yield* WebhookRepo
  const dispatcher = yield* WebhookDispatcher
  const stream = yield* AlertStream
  const live = yield* LiveFeed
  const { alerts: settings, webhooks: hooks } = yield* AppConfig
  const scope = yield* Effect.scope
  const lock = yield* Effect.makeSemaphore(1)

  let entries: Map<string, AlertEntry> | null = null
  let openCount = 0
  const storm = createStormWindow(Date.now())
  let summaryDue = false

  const setOpen = (n: number) => {
    alertsOpen.inc(n - openCount)
    openCount = n
  }
  yield* Effect.addFinalizer(() => Effect.sync(() => setOpen(0)))

  const unavailable = (e: { readonly message: string }) => {
    entries = null
    return logWarning("notifier could not apply alert events; they stay in the outbox", { notifier, error: e.message }).pipe(
      Effect.zipRight(Effect.fail(new NotifierUnavailable({ message: "alert storage unavailable; retry later" })))
    )
  }

  const ensureLoaded = Effect.suspend(() => {
    if (entries !== null) return Effect.succeed(entries)
    return repo.loadEntries(notifier).pipe(
      Effect.map((rows) => {
        const loaded = new Map<string, AlertEntry>()
        for (const r of rows) {
          loaded.set(keyOf(r.sensor, r.rule), {
            openId: r.status === "resolved" ? null : r.id,
            resolvedAt: r.resolvedAt,
            cooldownMs: r.cooldownMs ?? settings.cooldownMs,
            lastSeq: r.lastEventSeq
          })
        }
        entries = loaded
        setOpen(rows.filter((r) => r.status !== "resolved").length)
        return loaded
      })
    )
  })

  const notificationOf = (type: NotificationType, t: Transition): Notification => ({
    id: t.eventId,
    type,
    at: t.at,
    tenant,
    notifier: site,
    severity: t.alert.severity,
    alert: outwardAlert(t.alert),
    summary: null
  })

  /** What the storm limit lets through to the paging channels (the rest is counted for the summary). */
  const pagingOf = (notes: ReadonlyArray<Notification>): Array<Notification> => {
    const now = Date.now()
    const out: Array<Notification> = []
    for (const n of notes) {
      if (admit(storm, settings.stormPerMinute, settings.stormWindowMs, now)) out.push(n)
      else alertNotifications("webhook", "storm_suppressed").inc()
    }
    return out
  }

  /** After a commit: every notification to dashboards, the admitted ones to the stream and webhooks; the window's summary scheduled once. */
  const fanOut = (notes: ReadonlyArray<Notification>, paging: ReadonlyArray<Notification>, deliveries: Parameters<typeof dispatcher.enqueue>[0]) =>
    Effect.suspend(() => {
      for (const n of notes) live.publishAlert(n)
      alertNotifications("live", "sent").inc(notes.length)
      dispatcher.enqueue(deliveries)
      if (storm.suppressed === 0 || summaryDue) return stream.add(paging)
      summaryDue = true
      return Effect.zipRight(stream.add(paging), Effect.forkIn(summaryAfter(storm.startedAt + settings.stormWindowMs - Date.now()), scope))
    })

  const summaryAfter = (delayMs: number): Effect.Effect<void> =>
    Effect.sleep(Duration.millis(Math.max(0, delayMs))).pipe(
      Effect.zipRight(
        lock.withPermits(1)(
          Effect.gen(function* () {
            summaryDue = false
            const now = Date.now()
            const { suppressed, from } = closeWindow(storm, now)
            if (suppressed === 0) return
            const message = summaryMessage(suppressed, site)
            const [note, deliveries] = yield* sql.withTransaction(
              Effect.gen(function* () {
                const ev = yield* repo.summaryEvent(notifier, { suppressed, from, to: now, message })
                const n: Notification = {
                  id: ev.id,
                  type: "alert.summary",
                  at: ev.at,
                  tenant,
                  notifier: site,
                  severity: "warning",
                  alert: null,
                  summary: { suppressed, from, to: now, message }
                }
                return [n, yield* webhooks.insertDeliveries([n], hooks.leaseMs)] as const
              })
            )
            alertNotifications("webhook", "summary").inc()
            yield* fanOut([note], [note], deliveries)
          })
        )
      ),
      Effect.catchAll((e) => logWarning("storm summary could not be stored", { notifier, error: String(e) }))
    )

  const apply = (batch: ReadonlyArray<OutboxEntry>) =>
    lock.withPermits(1)(
      Effect.gen(function* () {
        const state = yield* ensureLoaded
        const sorted = [...batch].sort((a, b) => a.seq - b.seq)
        const now = Date.now()
        const done = yield* sql.withTransaction(
          Effect.gen(function* () {
            const claimed = yield* repo.claimOutbox(sorted.map((e) => e.seq))
            const working = new Map<string, AlertEntry>()
            const notes: Array<Notification> = []
            for (const { seq, event } of sorted) {
              if (!claimed.has(seq)) continue
              const key = keyOf(event.sensor, event.rule)
              const entry = working.get(key) ?? state.get(key)
              const action = decideAlert(entry, event.signal, seq, now)
              const cooldownMs = event.cooldownMs ?? settings.cooldownMs
              let openedId: number | null = null
              if (action._tag === "Open") {
                const t = yield* repo.open({ notifier, ...event, kind: event.kind, cooldownMs, seq, count: Math.max(1, event.count) })
                if (t !== null) {
                  openedId = t.alert.id
                  notes.push(notificationOf("alert.opened", t))
                  // Offline alerts have no reading to measure from: the sweep decides them.
                  if (event.kind !== "offline") alertLatency.observe(Math.max(0, Date.now() - event.receivedAt) / 1000)
                }
              } else if (action._tag === "Update") {
                yield* repo.update(action.alertId, event.count, event.value, event.at, seq)
              } else if (action._tag === "Resolve") {
                const t = yield* repo.resolve(action.alertId, "auto", seq)
                if (t !== null) notes.push(notificationOf("alert.resolved", t))
              } else if (action._tag === "Suppress") {
                alertTransitions(event.kind, event.severity, "suppressed").inc()
              }
              working.set(key, afterAction(entry, action, seq, now, cooldownMs, openedId))
            }
            const paging = pagingOf(notes)
            const deliveries = paging.length === 0 ? [] : yield* webhooks.insertDeliveries(paging, hooks.leaseMs)
            return { working, notes, paging, deliveries }
          })
        )
        for (const [key, entry] of done.working) {
          if (isForgettable(entry, now)) state.delete(key)
          else state.set(key, entry)
        }
        let open = 0
        for (const entry of state.values()) if (entry.openId !== null) open++
        setOpen(open)
        for (const n of done.notes) if (n.alert !== null) alertTransitions(n.alert.kind, n.alert.severity, n.type === "alert.opened" ? "opened" : "resolved").inc()
        yield* fanOut(done.notes, done.paging, done.deliveries)
      })
    ).pipe(Effect.catchTags({ SqlError: unavailable, DatabaseUnavailable: unavailable }))

  /** A manual transition (ack or resolve) and its fan-out; null when the alert was not in a state to take it. */
  const manual = (type: "alert.acknowledged" | "alert.resolved", change: Effect.Effect<Transition | null, SqlError>) =>
    Effect.gen(function* () {
      const [t, paging, deliveries] = yield* sql.withTransaction(
        Effect.gen(function* () {
          const t = yield* change
          if (t === null) return [null, [], []] as const
          const paging = pagingOf([notificationOf(type, t)])
          return [t, paging, paging.length === 0 ? [] : yield* webhooks.insertDeliveries(paging, hooks.leaseMs)] as const
        })
      )
      if (t === null) return null
      alertTransitions(t.alert.kind, t.alert.severity, type === "alert.acknowledged" ? "acknowledged" : "resolved").inc()
      yield* fanOut([notificationOf(type, t)], paging, deliveries)
      return t
    }).pipe(Effect.catchTags({ SqlError: unavailable, DatabaseUnavailable: unavailable }))

  const existing = (id: number) =>
    repo.find(id, tenant).pipe(
      Effect.mapError((e) => new NotifierUnavailable({ message: e.message })),
      Effect.flatMap((a) => (a === null ? Effect.fail(new AlertNotFound({ id })) : Effect.succeed(a)))
    )

  return Notifier.of({
    ApplyAlertEvents: ({ payload }) => apply(payload.entries),
    AcknowledgeAlert: ({ payload }) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const t = yield* manual("alert.acknowledged", repo.acknowledge(payload.id, payload.by))
          if (t !== null) return t.alert
          const a = yield* existing(payload.id)
          return a.status === "resolved" ? yield* Effect.fail(new AlertAlreadyResolved({ id: payload.id })) : a
        })
      ),
    ResolveAlert: ({ payload }) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const state = yield* ensureLoaded.pipe(Effect.mapError((e) => new NotifierUnavailable({ message: e.message })))
          const t = yield* manual("alert.resolved", repo.resolve(payload.id, payload.by, null))
          if (t === null) return yield* existing(payload.id)
          const key = keyOf(t.alert.sensor, t.alert.rule)
          const entry = state.get(key)
          state.set(key, { openId: null, resolvedAt: Date.now(), cooldownMs: entry?.cooldownMs ?? settings.cooldownMs, lastSeq: entry?.lastSeq ?? 0 })
          setOpen(Math.max(0, openCount - 1))
          return t.alert
        })
      )
  })
})

export const NotifierEntityLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ alerts }) => Notifier.toLayer(behaviour, { maxIdleTime: alerts.notifierMaxIdleMs, concurrency: 1 }))
)
