/**
 * Alerts as rows: the outbox the writer fills, the lifecycle the notifier keeps, the history of
 * every transition, the fan-out rows of notifications not yet taken by every channel, and the
 * queries of the API and the sweeper. Each lifecycle write also inserts its `alert_events` row in
 * the same statement and returns that row's id (the event id).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { AlertStatus, AlertView, Severity } from "../domain/notification.js"
import { orUnavailable } from "./errors.js"

const ALERT_COLUMNS = `a.id::float8 as id, a.notifier, a.sensor, a.rule, a.kind, a.severity, a.status, a.message, a.value,
  a.count::float8 as count, floor(extract(epoch from a.opened_at) * 1000)::float8 as "openedAt",
  floor(extract(epoch from a.last_seen) * 1000)::float8 as "lastSeen",
  floor(extract(epoch from a.acknowledged_at) * 1000)::float8 as "acknowledgedAt", a.acknowledged_by as "acknowledgedBy",
  floor(extract(epoch from a.resolved_at) * 1000)::float8 as "resolvedAt", a.resolved_by as "resolvedBy"`


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

export interface AlertFilter {
  readonly tenant: string
  /** The sensor's id inside the node. */
  readonly status: AlertStatus | undefined
  readonly sensor: string | undefined
  readonly rule: string | undefined
  readonly from: number | undefined
  readonly to: number | undefined
  readonly before: number | undefined
  readonly limit: number
}

/** An unresolved alert whose rule no actor holds any more: its sensor was deleted, or the rule removed, while the sensor was passivated. */
export interface OrphanedAlert {
  readonly sensor: string
  readonly rule: string
  readonly kind: string
  readonly severity: string
  readonly sensorGone: boolean
}

const CONFIGURED_RULES = `jsonb_array_elements(case when jsonb_typeof(s.config->'rules') = 'array' then s.config->'rules' else '[]'::jsonb end)`

/** A channel a notification reaches through `alert_fanout` rows. */
export type FanOutChannel = "live" | "stream" | "webhooks"

/** A notification still owed to a channel; `payload` is the notification as stored. */
export interface FanOutRow {
  readonly id: number
  readonly payload: unknown
}

/** Key space of the notifiers' transaction locks (the two-key advisory locks; the cluster uses one-key ones). */
const NOTIFIER_LOCK_SPACE = 0x464d4e54

export interface AlertEventRow {
  readonly id: number
  readonly event: string
  readonly at: number
  readonly actor: string | null
  readonly detail: unknown
}

export class AlertRepo extends Effect.Service<AlertRepo>()("flowmesh/AlertRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
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

    /** The alert, if it is the tenant's. */
    const find = (alertId: number, tenant: string) =>
      sql<AlertView>`select ${cols} from alerts a where a.id = ${alertId} and a.tenant = ${tenant}`.pipe(
        Effect.map((rows) => rows[0] ?? null),
        orUnavailable
      )

    const notifierOfAlert = (alertId: number, tenant: string) =>
      sql<{ notifier: string }>`select notifier from alerts where id = ${alertId} and tenant = ${tenant}`.pipe(
        Effect.map((rows) => rows[0]?.notifier ?? null),
        orUnavailable
      )

    const history = (alertId: number) =>
      sql<AlertEventRow>`
        select id::float8 as id, event, floor(extract(epoch from at) * 1000)::float8 as at, actor, detail
        from alert_events where alert_id = ${alertId} order by id`.pipe(orUnavailable)

    /** Newest first (by id), keyset-paginated with `before`. */
    const list = (f: AlertFilter) =>
      sql<AlertView>`
        select ${cols} from alerts a
        where a.tenant = ${f.tenant}
          and ${f.status === undefined ? sql`true` : sql`a.status = ${f.status}`}
          and ${f.sensor === undefined ? sql`true` : sql`a.sensor = ${f.sensor}`}
          and ${f.rule === undefined ? sql`true` : sql`a.rule = ${f.rule}`}
          and ${f.from === undefined ? sql`true` : sql`a.opened_at >= to_timestamp(${f.from} / 1000.0)`}
          and ${f.to === undefined ? sql`true` : sql`a.opened_at < to_timestamp(${f.to} / 1000.0)`}
          and ${f.before === undefined ? sql`true` : sql`a.id < ${f.before}`}
        order by a.id desc limit ${f.limit}`.pipe(Effect.map((rows) => rows), orUnavailable)

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

    /** Notifiers owing a channel a notification older than this: their fan-out was cut short or is being retried. */
    const owingNotifiers = (olderThanMs: number, limit: number) =>
      sql<{ notifier: string }>`
        select notifier from alert_fanout
        where created_at < now() - make_interval(secs => ${olderThanMs / 1000})
        group by notifier limit ${limit}`.pipe(Effect.map((rows) => rows.map((r) => r.notifier)))

    /** Outbox rows left behind (their node died before handing them on), oldest first. */
    /** Removes outbox rows nothing can apply (their event does not decode). */
    const discardOutbox = (ids: ReadonlyArray<number>) =>
      sql`delete from alert_outbox where id = any(${`{${ids.join(",")}}`}::int8[])`.pipe(Effect.asVoid)

    const staleOutbox = (olderThanMs: number, limit: number) =>
      sql<{ id: number; notifier: string; event: unknown }>`
        select id::float8 as id, notifier, event from alert_outbox
        where created_at < now() - make_interval(secs => ${olderThanMs / 1000})
        order by id limit ${limit}`

    /**
     * Unresolved alerts (offline ones aside: the offline sweep clears those) untouched for
     * `olderThanMs` whose sensor is gone or no longer has the rule, without a clear already waiting
     * in the outbox. A resident sensor clears them itself when deleted or reconfigured; a passivated
     * one is not there to do it.
     */
    const orphanedAlerts = (olderThanMs: number, limit: number) =>
      sql<OrphanedAlert>`
        select a.sensor, a.rule, a.kind, a.severity, (s.id is null) as "sensorGone"
        from alerts a
        left join sensors s on s.id = a.sensor
        where a.status <> 'resolved' and a.kind <> 'offline'
          and a.updated_at < now() - make_interval(secs => ${olderThanMs / 1000})
          and (s.id is null or not exists (select 1 from ${sql.literal(CONFIGURED_RULES)} as r(rule) where r.rule->>'id' = a.rule))
          and not exists (
            select 1 from alert_outbox o
            where o.notifier = a.notifier and o.event->>'sensor' = a.sensor and o.event->>'rule' = a.rule and o.event->>'signal' = 'cleared'
          )
        order by a.id limit ${limit}`

    /** Events raised outside a sensor (the offline sweep), straight into the outbox. */
    const insertOutbox = (events: ReadonlyArray<{ readonly n: string; readonly e: object }>) =>
      sql<{ id: number }>`
        insert into alert_outbox (notifier, event)
        select x.n, x.e from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as x(n text, e jsonb)
        returning id::float8 as id`.pipe(Effect.map((rows) => rows.map((r) => r.id).sort((a, b) => a - b)))

    /**
     * Deletes resolved alerts (their events cascade), summaries and dead letters past retention, and
     * notifications a channel never took in that time (a Redis stream that was configured and is gone).
     */
    const prune = (days: number) =>
      sql.withTransaction(
        Effect.all([
          sql`delete from alerts where status = 'resolved' and resolved_at < now() - make_interval(days => ${days})`,
          sql`delete from alert_events where alert_id is null and at < now() - make_interval(days => ${days})`,
          sql`delete from dead_letters where failed_at < now() - make_interval(days => ${days})`,
          sql`delete from alert_fanout where created_at < now() - make_interval(days => ${days})`
        ])
      )

    return {
      prune,
      claimOutbox,
      discardOutbox,
      lockNotifier,
      loadEntries,
      open,
      update,
      resolve,
      acknowledge,
      find,
      notifierOfAlert,
      history,
      list,
      summaryEvent,
      staleOutbox,
      insertOutbox,
      recordFanOut,
      pendingFanOut,
      fanOutDone,
      owingNotifiers,
      orphanedAlerts
    } as const
  })
}) {}
