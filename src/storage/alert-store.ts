/**
 * The notifier's store: its transactions (one notifier at a time across processes), the alert
 * lifecycle (`open → acknowledged → resolved`), the `alert_events` row of every transition (written
 * in the same statement, its id the event id), the outbox rows it claims, and the fan-out rows of
 * notifications not yet taken by every channel. Failures are `DatabaseUnavailable`: the notifier
 * never sees SQL. test/support/memory-alert-store.ts keeps the same contract in memory.
 */
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import type { AlertStatus, AlertView, Notification, Severity } from "../domain/notification.js"
import { ALERT_COLUMNS, AlertRepo } from "./alert-repo.js"
import { DatabaseUnavailable } from "./errors.js"
import { type Delivery, WebhookRepo } from "./webhook-repo.js"

export interface Transition {
  readonly alert: AlertView
  /** The `alert_events` id of this transition. */
  readonly eventId: number
  readonly at: number
}

export interface OpenAlert {
  readonly notifier: string
  readonly sensor: string
  readonly rule: string
  readonly kind: string
  readonly severity: Severity
  readonly message: string
  readonly value: number | null
  readonly at: number
  readonly count: number
  readonly cooldownMs: number
  readonly seq: number
}

export interface StoredEntry {
  readonly id: number
  readonly sensor: string
  readonly rule: string
  readonly status: AlertStatus
  readonly resolvedAt: number | null
  readonly cooldownMs: number | null
  readonly lastEventSeq: number
}

/** A channel a notification reaches through `alert_fanout` rows. */
export type FanOutChannel = "live" | "stream" | "webhooks"

/** A notification still owed to a channel; `payload` is the notification as stored. */
export interface FanOutRow {
  readonly id: number
  readonly payload: unknown
}

/** Key space of the notifiers' transaction locks (the two-key advisory locks; the cluster uses one-key ones). */
const NOTIFIER_LOCK_SPACE = 0x464d4e54

const unavailable = Effect.mapError((e: { readonly message: string }) => new DatabaseUnavailable({ message: e.message }))

export class AlertStore extends Effect.Service<AlertStore>()("flowmesh/AlertStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* AlertRepo
    const webhooks = yield* WebhookRepo
    const cols = sql.literal(ALERT_COLUMNS)

    const transition = (rows: ReadonlyArray<AlertView & { readonly eventId: number; readonly eventAt: number }>): Transition | null => {
      const r = rows[0]
      if (r === undefined) return null
      const { eventId, eventAt, ...alert } = r
      return { alert, eventId, at: eventAt }
    }

    /** Deletes the outbox rows still there and returns their ids: only those are applied (exactly once). */
    const claimOutbox = (ids: ReadonlyArray<number>) =>
      sql<{ id: number }>`delete from alert_outbox where id = any(${`{${ids.join(",")}}`}::int8[]) returning id::float8 as id`.pipe(
        Effect.map((rows) => new Set(rows.map((r) => r.id)))
      )

    /**
     * Serializes the notifier's transactions across processes (an entity may briefly run on two
     * nodes after its shard moved, effect#6508): the next owner waits for a commit still in flight
     * and then reads what it wrote. Held until the transaction ends.
     */
    const lockNotifier = (notifier: string) => sql`select pg_advisory_xact_lock(${NOTIFIER_LOCK_SPACE}, hashtext(${notifier}))`.pipe(Effect.asVoid)

    /** The latest alert of every (sensor, rule) of a notifier that is unresolved or resolved within a day. */
    const loadEntries = (notifier: string) =>
      sql<StoredEntry>`
        select distinct on (sensor, rule) id::float8 as id, sensor, rule, status,
          floor(extract(epoch from resolved_at) * 1000)::float8 as "resolvedAt", cooldown_ms as "cooldownMs",
          last_event_seq::float8 as "lastEventSeq"
        from alerts
        where notifier = ${notifier} and (status <> 'resolved' or resolved_at > now() - interval '1 day')
        order by sensor, rule, id desc`

    const open = (o: OpenAlert) =>
      sql<AlertView & { eventId: number; eventAt: number }>`
        with a as (
          insert into alerts (notifier, sensor, rule, kind, severity, status, message, value, count, opened_at, last_seen, cooldown_ms, last_event_seq)
          values (${o.notifier}, ${o.sensor}, ${o.rule}, ${o.kind}, ${o.severity}, 'open', ${o.message}, ${o.value},
            ${o.count}, to_timestamp(${o.at} / 1000.0), to_timestamp(${o.at} / 1000.0), ${o.cooldownMs}, ${o.seq})
          returning *
        ),
        ev as (
          insert into alert_events (alert_id, notifier, event, at, detail)
          select id, notifier, 'opened', now(), jsonb_build_object('message', message, 'value', value) from a
          returning id, at
        )
        select ${cols}, ev.id::float8 as "eventId", floor(extract(epoch from ev.at) * 1000)::float8 as "eventAt" from a, ev`.pipe(
        Effect.map(transition)
      )

    const update = (alertId: number, count: number, value: number | null, at: number, seq: number) =>
      sql`
        update alerts set count = count + ${count}, value = coalesce(${value}, value),
          last_seen = greatest(last_seen, to_timestamp(${at} / 1000.0)), last_event_seq = ${seq}, updated_at = now()
        where id = ${alertId}`

    /**
     * A manual or automatic transition: the update and its `alert_events` row (by `by`, at the
     * update's time) in one statement; null when the alert was not in a state to take it.
     */
    const transitionTo = (event: "resolved" | "acknowledged", alertId: number, by: string, seq: number | null) => {
      const change =
        event === "resolved"
          ? sql`status = 'resolved', resolved_at = now(), resolved_by = ${by}, last_event_seq = coalesce(${seq}, last_event_seq)`
          : sql`status = 'acknowledged', acknowledged_at = now(), acknowledged_by = ${by}`
      const from = event === "resolved" ? sql`status <> 'resolved'` : sql`status = 'open'`
      return sql<AlertView & { eventId: number; eventAt: number }>`
        with a as (
          update alerts set ${change}, updated_at = now() where id = ${alertId} and ${from}
          returning *
        ),
        ev as (
          insert into alert_events (alert_id, notifier, event, at, actor)
          select id, notifier, ${event}, updated_at, ${by} from a
          returning id, at
        )
        select ${cols}, ev.id::float8 as "eventId", floor(extract(epoch from ev.at) * 1000)::float8 as "eventAt" from a, ev`.pipe(
        Effect.map(transition)
      )
    }

    /** Resolves an unresolved alert; null when it was already resolved (or does not exist). */
    const resolve = (alertId: number, by: string, seq: number | null) => transitionTo("resolved", alertId, by, seq)

    /** Acknowledges an open alert; null when it was not open. */
    const acknowledge = (alertId: number, by: string) => transitionTo("acknowledged", alertId, by, null)

    /** A storm summary's event row; its id is the summary notification's id. */
    const summaryEvent = (notifier: string, detail: object) =>
      sql<{ id: number; at: number }>`
        insert into alert_events (notifier, event, detail) values (${notifier}, 'summary', ${JSON.stringify(detail)}::jsonb)
        returning id::float8 as id, floor(extract(epoch from at) * 1000)::float8 as at`.pipe(
        Effect.map((rows) => rows[0] ?? { id: 0, at: Date.now() })
      )

    /** One row per (notification, channel) it must reach, in the order given (ids grow with it). */
    const recordFanOut = (notifier: string, rows: ReadonlyArray<{ readonly channel: FanOutChannel; readonly payload: object }>) =>
      rows.length === 0
        ? Effect.void
        : sql`
            insert into alert_fanout (notifier, channel, payload)
            select ${notifier}, x.channel, x.payload
            from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (channel text, payload jsonb))
              with ordinality as x(channel, payload, n)
            order by x.n`.pipe(Effect.asVoid)

    /** The notifier's oldest notifications still owed to the channel. */
    const pendingFanOut = (notifier: string, channel: FanOutChannel, limit: number) =>
      sql<FanOutRow>`
        select id::float8 as id, payload from alert_fanout
        where notifier = ${notifier} and channel = ${channel}
        order by id limit ${limit}`

    /** The channel took them. */
    const fanOutDone = (ids: ReadonlyArray<number>) =>
      ids.length === 0 ? Effect.void : sql`delete from alert_fanout where id = any(${`{${ids.join(",")}}`}::int8[])`.pipe(Effect.asVoid)

    /** The body in one transaction of the notifier, after the lock (see lockNotifier). */
    const transaction = <A, E, R>(notifier: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E | DatabaseUnavailable, R> =>
      sql.withTransaction(Effect.zipRight(lockNotifier(notifier), body)).pipe(
        Effect.catchIf(
          (e): e is SqlError => e instanceof SqlError,
          (e) => Effect.fail(new DatabaseUnavailable({ message: e.message }))
        )
      )

    /**
     * Hands notifications to the webhooks (their delivery rows) and marks their fan-out rows taken,
     * in one transaction, and the deliveries to `committed` (this node's dispatcher) right after the
     * commit with no interruption between: no row is left leased to nobody.
     */
    const handOverToWebhooks = (
      notes: ReadonlyArray<Notification>,
      fanOutIds: ReadonlyArray<number>,
      leaseMs: number,
      committed: (deliveries: ReadonlyArray<Delivery>) => void
    ): Effect.Effect<void, DatabaseUnavailable> =>
      Effect.uninterruptibleMask((restore) =>
        sql.withTransaction(restore(Effect.zipLeft(webhooks.insertDeliveries(notes, leaseMs), fanOutDone(fanOutIds)))).pipe(
          unavailable,
          Effect.flatMap((deliveries) => Effect.sync(() => committed(deliveries)))
        )
      )

    return {
      transaction,
      loadEntries: (notifier: string) => unavailable(loadEntries(notifier)),
      claimOutbox: (ids: ReadonlyArray<number>) => unavailable(claimOutbox(ids)),
      open: (o: OpenAlert) => unavailable(open(o)),
      update: (alertId: number, count: number, value: number | null, at: number, seq: number) => unavailable(Effect.asVoid(update(alertId, count, value, at, seq))),
      resolve: (alertId: number, by: string, seq: number | null) => unavailable(resolve(alertId, by, seq)),
      acknowledge: (alertId: number, by: string) => unavailable(acknowledge(alertId, by)),
      find: repo.find,
      summaryEvent: (notifier: string, detail: object) => unavailable(summaryEvent(notifier, detail)),
      recordFanOut: (notifier: string, rows: ReadonlyArray<{ readonly channel: FanOutChannel; readonly payload: Notification }>) =>
        unavailable(recordFanOut(notifier, rows)),
      pendingFanOut: (notifier: string, channel: FanOutChannel, limit: number) => unavailable(pendingFanOut(notifier, channel, limit)),
      fanOutDone: (ids: ReadonlyArray<number>) => unavailable(fanOutDone(ids)),
      handOverToWebhooks
    } as const
  })
}) {}
