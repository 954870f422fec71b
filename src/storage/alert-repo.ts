/**
 * Alerts as rows, as the API and the sweeper read them: listings, history, outbox rows left
 * behind, orphaned alerts, retention. What the notifier writes in its own transactions (the
 * lifecycle, its events, the fan-out rows) is the AlertStore (alert-store.ts).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { AlertStatus, AlertView } from "../domain/notification.js"
import { orUnavailable } from "./errors.js"

export const ALERT_COLUMNS = `a.id::float8 as id, a.notifier, a.sensor, a.rule, a.kind, a.severity, a.status, a.message, a.value,
  a.count::float8 as count, floor(extract(epoch from a.opened_at) * 1000)::float8 as "openedAt",
  floor(extract(epoch from a.last_seen) * 1000)::float8 as "lastSeen",
  floor(extract(epoch from a.acknowledged_at) * 1000)::float8 as "acknowledgedAt", a.acknowledged_by as "acknowledgedBy",
  floor(extract(epoch from a.resolved_at) * 1000)::float8 as "resolvedAt", a.resolved_by as "resolvedBy"`


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

    /** Notifiers owing a channel a notification older than this: their fan-out was cut short or is being retried. */
    const owingNotifiers = (olderThanMs: number, limit: number) =>
      sql<{ notifier: string }>`
        select notifier from alert_fanout
        where created_at < now() - make_interval(secs => ${olderThanMs / 1000})
        group by notifier limit ${limit}`.pipe(Effect.map((rows) => rows.map((r) => r.notifier)))

    /** Removes outbox rows nothing can apply (their event does not decode). */
    const discardOutbox = (ids: ReadonlyArray<number>) =>
      sql`delete from alert_outbox where id = any(${`{${ids.join(",")}}`}::int8[])`.pipe(Effect.asVoid)

    /** Outbox rows left behind (their node died before handing them on), oldest first. */
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
      discardOutbox,
      find,
      notifierOfAlert,
      history,
      list,
      staleOutbox,
      insertOutbox,
      owingNotifiers,
      orphanedAlerts
    } as const
  })
}) {}
