/**
 * The Notifier actor: one per site (see notifier-protocol.ts). It applies the alert events of its
 * sensors exactly once (claiming their outbox rows in the same transaction), keeps the lifecycle in
 * the AlertStore (`open → acknowledged → resolved`, one unresolved alert per sensor and rule,
 * cooldown before a rule re-raises) and fans every transition out through rows written in that same
 * transaction (notifier-fanout.ts): dashboards always, the Redis stream and webhooks within the
 * storm limit, the rest folded into one summary per minute. Its transactions hold a lock on the
 * notifier, so a run that starts while an earlier run's commit is still in flight waits for it.
 *
 * The decisions are the core's (alert-lifecycle.ts, storm.ts); this file is their plumbing, in
 * small steps: load what the store knows, apply a batch, a manual transition, a storm summary.
 */
import { Entity } from "@effect/cluster"
import { Duration, Effect, Layer } from "effect"
import { AppConfig } from "../config.js"
import { type AlertEntry, afterAction, decideAlert, isForgettable, type LifecycleAction } from "../core/alert-lifecycle.js"
import { admit, closeWindow, createStormWindow, type StormWindow, summaryMessage } from "../core/storm.js"
import type { SensorAlertEvent } from "../domain/alert-event.js"
import { type Notification, type NotificationType, outwardAlert } from "../domain/notification.js"
import { externalId, tenantOf } from "../domain/tenancy.js"
import { AlertStore, type Transition } from "../storage/alert-store.js"
import type { DatabaseUnavailable } from "../storage/errors.js"
import { logWarning } from "../telemetry/log.js"
import { alertNotifications, alertsOpen, alertTransitions } from "../telemetry/metrics.js"
import { makeNotifierFanOut } from "./notifier-fanout.js"
import { type Applied, countApplied, entriesOf, keyOf, openCountOf } from "./notifier-state.js"
import { AlertAlreadyResolved, AlertNotFound, Notifier, NotifierUnavailable, type OutboxEntry } from "./notifier-protocol.js"

const behaviour = Effect.gen(function* () {
  const notifier = (yield* Entity.CurrentAddress).entityId
  // What its notifications say: the tenant, and the site as the tenant names it.
  const tenant = tenantOf(notifier)
  const site = externalId(notifier)
  const store = yield* AlertStore
  const { alerts: settings } = yield* AppConfig
  const scope = yield* Effect.scope
  const lock = yield* Effect.makeSemaphore(1)
  const fanOut = yield* makeNotifierFanOut(notifier)
  // What an earlier run of this notifier committed and did not deliver goes out first.
  fanOut.resume()

  let entries: Map<string, AlertEntry> | null = null
  let openCount = 0
  const storm: StormWindow = createStormWindow(Date.now())
  let summaryDue = false

  const setOpen = (n: number) => {
    alertsOpen.inc(n - openCount)
    openCount = n
  }
  yield* Effect.addFinalizer(() => Effect.sync(() => setOpen(0)))

  /** The store failed: what this run knows may be stale, so it reloads next time; the caller retries. */
  const unavailable = (e: DatabaseUnavailable) => {
    entries = null
    return logWarning("notifier could not apply alert events; they stay in the outbox", { notifier, error: e.message }).pipe(
      Effect.zipRight(Effect.fail(new NotifierUnavailable({ message: "alert storage unavailable; retry later" })))
    )
  }

  const ensureLoaded: Effect.Effect<Map<string, AlertEntry>, DatabaseUnavailable> = Effect.suspend(() => {
    if (entries !== null) return Effect.succeed(entries)
    return Effect.map(store.loadEntries(notifier), (rows) => {
      const loaded = entriesOf(rows, settings.cooldownMs)
      entries = loaded
      setOpen(openCountOf(loaded))
      return loaded
    })
  })

  /**
   * One transaction of this notifier, under its lock, and what follows its commit on this node
   * (counting, local state, waking the fan-out): an interruption (the shard moving away) lands
   * before the commit or after all of that, never in between.
   */
  const commit = <A, E>(body: Effect.Effect<A, E>, committed: (a: A) => void): Effect.Effect<A, E | DatabaseUnavailable> =>
    Effect.uninterruptibleMask((restore) =>
      store.transaction(notifier, restore(body)).pipe(
        Effect.tap((a) =>
          Effect.sync(() => {
            committed(a)
            fanOut.committed()
          })
        )
      )
    )

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

  /** Records the notifications for their channels: every one to dashboards, those the storm limit admits to the paging channels. */
  const record = (notes: ReadonlyArray<Notification>) => {
    const now = Date.now()
    const paging = new Set<Notification>()
    for (const n of notes) {
      if (admit(storm, settings.stormPerMinute, settings.stormWindowMs, now)) paging.add(n)
      else alertNotifications("webhook", "storm_suppressed").inc()
    }
    return fanOut.record(notes, paging)
  }

  /** Once per window with suppressed notifications: its summary when the window ends. */
  const scheduleSummary = Effect.suspend(() => {
    if (storm.suppressed === 0 || summaryDue) return Effect.void
    summaryDue = true
    return Effect.asVoid(Effect.forkIn(summaryAfter(storm.startedAt + settings.stormWindowMs - Date.now()), scope))
  })

  const writeSummary = Effect.gen(function* () {
    summaryDue = false
    const now = Date.now()
    const { suppressed, from } = closeWindow(storm, now)
    if (suppressed === 0) return
    const summary = { suppressed, from, to: now, message: summaryMessage(suppressed, site) }
    yield* commit(
      Effect.gen(function* () {
        const ev = yield* store.summaryEvent(notifier, summary)
        const note: Notification = { id: ev.id, type: "alert.summary", at: ev.at, tenant, notifier: site, severity: "warning", alert: null, summary }
        yield* fanOut.record([note], new Set([note]))
      }),
      () => alertNotifications("webhook", "summary").inc()
    )
  })

  const summaryAfter = (delayMs: number): Effect.Effect<void> =>
    Effect.sleep(Duration.millis(Math.max(0, delayMs))).pipe(
      Effect.zipRight(lock.withPermits(1)(writeSummary)),
      Effect.catchAll((e) => logWarning("storm summary could not be stored", { notifier, error: String(e) }))
    )

  /** Carries out one lifecycle action in the store; the alert it opened, if any. */
  const carryOut = (action: LifecycleAction, event: SensorAlertEvent, seq: number, cooldownMs: number, out: { notes: Array<Notification>; latencies: Array<number>; suppressed: Array<SensorAlertEvent> }) =>
    Effect.gen(function* () {
      switch (action._tag) {
        case "Open": {
          const t = yield* store.open({ notifier, ...event, kind: event.kind, cooldownMs, seq, count: Math.max(1, event.count) })
          if (t === null) return null
          out.notes.push(notificationOf("alert.opened", t))
          // Offline alerts have no reading to measure from: the sweep decides them.
          if (event.kind !== "offline") out.latencies.push(Math.max(0, Date.now() - event.receivedAt) / 1000)
          return t.alert.id
        }
        case "Update":
          yield* store.update(action.alertId, event.count, event.value, event.at, seq)
          return null
        case "Resolve": {
          const t = yield* store.resolve(action.alertId, "auto", seq)
          if (t !== null) out.notes.push(notificationOf("alert.resolved", t))
          return null
        }
        case "Suppress":
          out.suppressed.push(event)
          return null
        case "Ignore":
          return null
      }
    })

  /** Inside the transaction: claims the batch's outbox rows and applies those it got, in seq order. */
  const applyClaimed = (sorted: ReadonlyArray<OutboxEntry>, now: number) =>
    Effect.gen(function* () {
      const state = yield* ensureLoaded
      const claimed = yield* store.claimOutbox(sorted.map((e) => e.seq))
      const working = new Map<string, AlertEntry>()
      const out = { notes: [] as Array<Notification>, latencies: [] as Array<number>, suppressed: [] as Array<SensorAlertEvent> }
      for (const { seq, event } of sorted) {
        if (!claimed.has(seq)) continue
        const key = keyOf(event.sensor, event.rule)
        const entry = working.get(key) ?? state.get(key)
        const action = decideAlert(entry, event.signal, seq, now)
        const cooldownMs = event.cooldownMs ?? settings.cooldownMs
        const openedId = yield* carryOut(action, event, seq, cooldownMs, out)
        working.set(key, afterAction(entry, action, seq, now, cooldownMs, openedId))
      }
      yield* record(out.notes)
      return { working, ...out } satisfies Applied
    })

  /** After the commit: what the batch changed becomes this run's state. */
  const adopt = (applied: Applied, now: number) => {
    const state = entries
    if (state === null) return
    for (const [key, entry] of applied.working) {
      if (isForgettable(entry, now)) state.delete(key)
      else state.set(key, entry)
    }
    setOpen(openCountOf(state))
    countApplied(applied)
  }

  const apply = (batch: ReadonlyArray<OutboxEntry>) =>
    lock
      .withPermits(1)(
        Effect.gen(function* () {
          const sorted = [...batch].sort((a, b) => a.seq - b.seq)
          const now = Date.now()
          yield* commit(applyClaimed(sorted, now), (applied) => adopt(applied, now))
          yield* scheduleSummary
        })
      )
      .pipe(Effect.catchTag("DatabaseUnavailable", unavailable))

  /** A manual transition (ack or resolve) and its fan-out; null when the alert was not in a state to take it. */
  const manual = (type: "alert.acknowledged" | "alert.resolved", change: Effect.Effect<Transition | null, DatabaseUnavailable>, committed: (t: Transition) => void) =>
    Effect.gen(function* () {
      const t = yield* commit(
        Effect.gen(function* () {
          const t = yield* change
          if (t !== null) yield* record([notificationOf(type, t)])
          return t
        }),
        (t) => {
          if (t === null) return
          alertTransitions(t.alert.kind, t.alert.severity, type === "alert.acknowledged" ? "acknowledged" : "resolved").inc()
          committed(t)
        }
      )
      yield* scheduleSummary
      return t
    }).pipe(Effect.catchTag("DatabaseUnavailable", unavailable))

  /** A manual resolve: the alert's (sensor, rule) is in its cooldown from now, as after an automatic one. */
  const resolvedByHand = (t: Transition) => {
    if (entries === null) return
    const key = keyOf(t.alert.sensor, t.alert.rule)
    const entry = entries.get(key)
    entries.set(key, { openId: null, resolvedAt: Date.now(), cooldownMs: entry?.cooldownMs ?? settings.cooldownMs, lastSeq: entry?.lastSeq ?? 0 })
    setOpen(Math.max(0, openCount - 1))
  }

  const existing = (id: number) =>
    store.find(id, tenant).pipe(
      Effect.mapError((e) => new NotifierUnavailable({ message: e.message })),
      Effect.flatMap((a) => (a === null ? Effect.fail(new AlertNotFound({ id })) : Effect.succeed(a)))
    )

  return Notifier.of({
    ApplyAlertEvents: ({ payload }) => apply(payload.entries),
    AcknowledgeAlert: ({ payload }) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const t = yield* manual("alert.acknowledged", store.acknowledge(payload.id, payload.by), () => {})
          if (t !== null) return t.alert
          const a = yield* existing(payload.id)
          return a.status === "resolved" ? yield* Effect.fail(new AlertAlreadyResolved({ id: payload.id })) : a
        })
      ),
    ResolveAlert: ({ payload }) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const t = yield* manual("alert.resolved", Effect.zipRight(ensureLoaded, store.resolve(payload.id, payload.by, null)), resolvedByHand)
          return t === null ? yield* existing(payload.id) : t.alert
        })
      ),
    DeliverPendingNotifications: () => Effect.sync(fanOut.resume)
  })
})

export const NotifierEntityLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ alerts }) => Notifier.toLayer(behaviour, { maxIdleTime: alerts.notifierMaxIdleMs, concurrency: 1 }))
)
