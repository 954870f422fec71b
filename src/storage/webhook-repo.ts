/**
 * Webhook targets, their pending deliveries and their dead letters, as rows.
 *
 * A delivery row exists from the moment a notifier's fan-out hands a notification to the webhooks
 * (`insertDeliveries`, in the transaction that deletes its `alert_fanout` row) until the target
 * answered 2xx (`delivered`) or the dispatcher gave up (`deadLetter`). `leased_until` says which node may send it: the node holding it in memory renews
 * the lease; a row whose lease expired (its node died, or it overflowed a full queue) is claimed
 * again by any node's recovery loop (`claimStale`). Receivers dedupe by event id, so the rare
 * double send (a node that stalled past its lease) is harmless.
 *
 * Which webhooks receive a notification (decided in SQL, in `insertDeliveries`):
 * - the notification's tenant's only (a webhook's id carries its tenant, see `domain/tenancy.ts`);
 * - enabled, and severity rank >= `min_severity` rank (info < warning < critical);
 * - an alert notification: `sensor_prefix` null or a prefix of the alert's sensor, and `rules` null
 *   or containing the alert's rule;
 * - a storm summary (no alert): `sensor_prefix` null or a prefix of `notifier + "/"` (the summary
 *   speaks for the notifier's whole group, so a webhook scoped to that group or above gets it),
 *   whatever its `rules`.
 *
 * Replay moves a webhook's dead letters back into `webhook_deliveries` (attempts 0) and deletes them
 * from `dead_letters`: that table holds only what still needs an operator, and cannot grow with
 * history (`replayed_at` is left unused). A replayed delivery that fails again is dead-lettered again.
 * Bodies are sent as PostgreSQL prints the stored `jsonb` (keys in jsonb order), the same bytes on
 * every attempt and every node.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { SEVERITIES, type Notification } from "../domain/notification.js"
import { orUnavailable } from "./errors.js"
import {
  type Delivery,
  DELIVERY_COLUMNS,
  heldDelivery,
  type RawDeadLetter,
  type RawDelivery,
  type RawReplayed,
  type RawWebhook,
  toDeadLetter,
  toDelivery,
  toWebhook,
  WEBHOOK_COLUMNS,
  type WebhookSettings
} from "./webhook-row.js"

export type { DeadLetter, Delivery, Webhook, WebhookSettings } from "./webhook-row.js"

const SEVERITY_ORDER = `{${SEVERITIES.join(",")}}`

const idArray = (ids: ReadonlyArray<number>): string => `{${ids.join(",")}}`

const byId = (a: Delivery, b: Delivery) => a.id - b.id

export class WebhookRepo extends Effect.Service<WebhookRepo>()("flowmesh/WebhookRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const deliveryColumns = sql.literal(DELIVERY_COLUMNS)
    const webhookColumns = sql.literal(WEBHOOK_COLUMNS)
    const leaseFromNow = (leaseMs: number) => sql`now() + ${leaseMs} * interval '1 millisecond'`

    /** A tenant's webhooks. */
    const list = (tenant: string) =>
      sql<RawWebhook>`select ${webhookColumns} from webhooks where tenant = ${tenant} order by id`.pipe(
        Effect.map((rows) => rows.map(toWebhook)),
        orUnavailable
      )

    const get = (id: string) =>
      sql<RawWebhook>`select ${webhookColumns} from webhooks where id = ${id}`.pipe(
        Effect.map((rows) => (rows[0] === undefined ? null : toWebhook(rows[0]))),
        orUnavailable
      )

    /** Creates or replaces the webhook; `created` is false when it replaced one. */
    const put = (id: string, s: WebhookSettings) =>
      sql<RawWebhook & { readonly created: boolean }>`
        insert into webhooks (id, url, secret, sensor_prefix, rules, min_severity, enabled)
        values (${id}, ${s.url}, ${s.secret}, ${s.sensorPrefix},
          ${s.rules === null ? sql`null` : sql`array(select jsonb_array_elements_text(${JSON.stringify(s.rules)}::jsonb))`},
          ${s.minSeverity}, ${s.enabled})
        on conflict (id) do update set url = excluded.url, secret = excluded.secret,
          sensor_prefix = excluded.sensor_prefix, rules = excluded.rules,
          min_severity = excluded.min_severity, enabled = excluded.enabled, updated_at = now()
        returning ${webhookColumns}, (xmax = 0) as created`.pipe(
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.dieMessage("upsert returned no row") : Effect.succeed(rows[0])
        ),
        Effect.map((row) => ({ webhook: toWebhook(row), created: row.created })),
        orUnavailable
      )

    /** Deletes the webhook with its pending deliveries and dead letters; false if it did not exist. */
    const remove = (id: string) =>
      sql`delete from webhooks where id = ${id} returning id`.pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable
      )

    /**
     * One delivery row per (enabled, matching webhook × notification), leased for `leaseMs` to the
     * caller, who hands them to the dispatcher after its commit. One statement on the ambient
     * connection: inside the caller's `sql.withTransaction` it commits or rolls back with it.
     */
    const insertDeliveries = (notifications: ReadonlyArray<Notification>, leaseMs: number) =>
      notifications.length === 0
        ? Effect.succeed<ReadonlyArray<Delivery>>([])
        : sql<RawDelivery>`
            with n as (
              select value as payload, (value->>'id')::int8 as event_id, value->>'severity' as severity, value->>'tenant' as tenant,
                value->>'notifier' as notifier, value->'alert'->>'sensor' as sensor, value->'alert'->>'rule' as rule,
                jsonb_typeof(value->'alert') = 'object' as is_alert
              from jsonb_array_elements(${JSON.stringify(notifications)}::jsonb)
            )
            insert into webhook_deliveries (webhook_id, event_id, payload, leased_until)
            select w.id, n.event_id, n.payload, ${leaseFromNow(leaseMs)}
            from n join webhooks w on w.enabled and w.tenant = n.tenant
            where array_position(${SEVERITY_ORDER}::text[], n.severity) >= array_position(${SEVERITY_ORDER}::text[], w.min_severity)
              and (w.sensor_prefix is null
                or (n.is_alert and starts_with(n.sensor, w.sensor_prefix))
                or (not n.is_alert and starts_with(n.notifier || '/', w.sensor_prefix)))
              and (w.rules is null or not n.is_alert or n.rule = any(w.rules))
            order by n.event_id, w.id
            on conflict (webhook_id, event_id) do nothing
            returning ${deliveryColumns}`.pipe(
            Effect.map((rows) => rows.map(toDelivery).sort(byId)),
            orUnavailable
          )

    /** Extends the lease of deliveries this node still holds. */
    const renewLeases = (ids: ReadonlyArray<number>, leaseMs: number) =>
      ids.length === 0
        ? Effect.void
        : sql`update webhook_deliveries set leased_until = ${leaseFromNow(leaseMs)}
              where id = any(${idArray(ids)}::int8[])`.pipe(Effect.asVoid, orUnavailable)

    const delivered = (ids: ReadonlyArray<number>) =>
      ids.length === 0
        ? Effect.void
        : sql`delete from webhook_deliveries where id = any(${idArray(ids)}::int8[])`.pipe(Effect.asVoid, orUnavailable)

    const recordFailure = (id: number, attempts: number, error: string) =>
      sql`update webhook_deliveries set attempts = ${attempts}, last_error = ${error} where id = ${id}`.pipe(
        Effect.asVoid,
        orUnavailable
      )

    /** Moves the delivery to `dead_letters` (replacing an older letter of the same event). */
    const deadLetter = (id: number, attempts: number, error: string) =>
      sql`
        with moved as (delete from webhook_deliveries where id = ${id} returning webhook_id, event_id, payload)
        insert into dead_letters (webhook_id, event_id, payload, attempts, last_error)
        select webhook_id, event_id, payload, ${attempts}, ${error} from moved
        on conflict (webhook_id, event_id) do update set payload = excluded.payload, attempts = excluded.attempts,
          last_error = excluded.last_error, failed_at = now(), replayed_at = null`.pipe(Effect.asVoid, orUnavailable)

    /**
     * Up to `limit` deliveries of enabled webhooks whose lease expired, oldest first, leased to this
     * node in the same statement (`skip locked`: two nodes sweeping at once split the rows). A
     * delivery waits while an earlier event of its alert is pending for the same webhook.
     */
    const claimStale = (limit: number, leaseMs: number) =>
      sql<RawDelivery>`
        update webhook_deliveries d set leased_until = ${leaseFromNow(leaseMs)}
        from (
          select s.id from webhook_deliveries s join webhooks w on w.id = s.webhook_id and w.enabled
          where s.leased_until < now()
            and not exists (
              select 1 from webhook_deliveries e where e.webhook_id = s.webhook_id and e.alert_id = s.alert_id and e.event_id < s.event_id
            )
          order by s.id limit ${limit}
          for update of s skip locked
        ) stale
        where d.id = stale.id
        returning d.id, d.webhook_id, d.event_id, d.payload->>'type' as event_type, d.payload::text as payload, d.attempts`.pipe(
        Effect.map((rows) => rows.map(toDelivery).sort(byId)),
        orUnavailable
      )

    /**
     * The pending deliveries of earlier events of the same alert to the same webhook (wherever they
     * are held): the delivery must not overtake them.
     */
    const earlierOfSameAlert = (id: number) =>
      sql<{ id: string }>`
        select e.id from webhook_deliveries d
        join webhook_deliveries e on e.webhook_id = d.webhook_id and e.alert_id = d.alert_id and e.event_id < d.event_id
        where d.id = ${id}`.pipe(
        Effect.map((rows) => rows.map((r) => Number(r.id))),
        orUnavailable
      )

    /** Lets the delivery go now: the recovery loops take it once nothing earlier of its alert is pending. */
    const releaseLease = (id: number) =>
      sql`update webhook_deliveries set leased_until = now() where id = ${id}`.pipe(Effect.asVoid, orUnavailable)

    /** Keyset page of a tenant's dead letters by id, oldest first. */
    const listDeadLetters = (options: {
      readonly tenant: string
      readonly webhook?: string | undefined
      readonly after?: number | undefined
      readonly limit: number
    }) =>
      sql<RawDeadLetter>`
        select id, webhook_id, event_id, payload->>'type' as event_type, attempts, last_error,
          (extract(epoch from failed_at) * 1000)::float8 as failed_at, payload
        from dead_letters
        where webhook_id in (select id from webhooks where tenant = ${options.tenant})
          and ${options.webhook === undefined ? sql`true` : sql`webhook_id = ${options.webhook}`}
          and ${options.after === undefined ? sql`true` : sql`id > ${options.after}`}
        order by id limit ${options.limit}`.pipe(Effect.map((rows) => rows.map(toDeadLetter)), orUnavailable)

    /**
     * Moves all of the webhook's dead letters back to pending deliveries, in one statement. The first
     * `holdMax` (by event id) are leased to this node and returned for the dispatcher; the rest get an
     * expired lease, so the recovery loops deliver them without this node holding them all in memory.
     */
    const replay = (webhookId: string, holdMax: number, leaseMs: number) =>
      sql<RawReplayed>`
        with moved as (
          delete from dead_letters where webhook_id = ${webhookId} returning webhook_id, event_id, payload
        ), ranked as (
          select webhook_id, event_id, payload, row_number() over (order by event_id) as n from moved
        ), inserted as (
          insert into webhook_deliveries (webhook_id, event_id, payload, attempts, leased_until)
          select webhook_id, event_id, payload, 0, case when n <= ${holdMax} then ${leaseFromNow(leaseMs)} else now() end
          from ranked order by event_id
          on conflict (webhook_id, event_id) do nothing
          returning id, webhook_id, event_id, payload, attempts, leased_until > now() as held
        )
        select i.id, i.webhook_id, i.event_id, i.payload->>'type' as event_type, i.payload::text as payload,
          i.attempts, t.total
        from (select count(*) as total from moved) t left join inserted i on i.held`.pipe(
        Effect.map((rows) => ({
          replayed: Number(rows[0]?.total ?? 0),
          deliveries: rows.flatMap(heldDelivery).sort(byId)
        })),
        orUnavailable
      )

    return {
      list,
      get,
      put,
      remove,
      insertDeliveries,
      renewLeases,
      delivered,
      recordFailure,
      deadLetter,
      claimStale,
      earlierOfSameAlert,
      releaseLease,
      listDeadLetters,
      replay
    } as const
  })
}) {}
