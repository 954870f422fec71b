import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Alerting. `alert_outbox` rows are written by the writer in the same statement as the readings
 * that raised them (an alert acknowledged as durable cannot be lost) and deleted by the notifier in
 * the transaction that applies them (so each is applied exactly once). `alerts` holds the lifecycle
 * (at most one unresolved alert per sensor and rule, enforced here too), `alert_events` every
 * transition; its id is the event id receivers dedupe by. Webhook deliveries are leased rows, moved
 * to `dead_letters` when a target keeps failing.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    create table alert_outbox (
      id bigserial primary key,
      notifier text not null,
      event jsonb not null,
      created_at timestamptz not null default now()
    )`
  yield* sql`
    create table alerts (
      id bigserial primary key,
      notifier text not null,
      sensor text not null,
      rule text not null,
      kind text not null,
      severity text not null,
      status text not null check (status in ('open', 'acknowledged', 'resolved')),
      message text not null,
      value float8,
      count int8 not null default 1,
      opened_at timestamptz not null,
      last_seen timestamptz not null,
      acknowledged_at timestamptz,
      acknowledged_by text,
      resolved_at timestamptz,
      resolved_by text,
      cooldown_ms int4,
      last_event_seq int8 not null default 0,
      updated_at timestamptz not null default now()
    )`
  yield* sql`create unique index alerts_one_unresolved on alerts (sensor, rule) where status <> 'resolved'`
  yield* sql`create index alerts_opened on alerts (opened_at desc, id desc)`
  yield* sql`create index alerts_sensor_opened on alerts (sensor, opened_at desc)`
  yield* sql`create index alerts_unresolved on alerts (notifier) where status <> 'resolved'`
  yield* sql`
    create table alert_events (
      id bigserial primary key,
      alert_id int8 references alerts(id) on delete cascade,
      notifier text not null,
      event text not null,
      at timestamptz not null default now(),
      actor text,
      detail jsonb
    )`
  yield* sql`create index alert_events_alert on alert_events (alert_id, id)`
  yield* sql`
    create table webhooks (
      id text primary key,
      url text not null,
      secret text not null,
      sensor_prefix text,
      rules text[],
      min_severity text not null default 'info',
      enabled boolean not null default true,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`
  yield* sql`
    create table webhook_deliveries (
      id bigserial primary key,
      webhook_id text not null references webhooks(id) on delete cascade,
      event_id int8 not null,
      payload jsonb not null,
      attempts int4 not null default 0,
      leased_until timestamptz not null,
      last_error text,
      created_at timestamptz not null default now(),
      unique (webhook_id, event_id)
    )`
  yield* sql`create index webhook_deliveries_lease on webhook_deliveries (leased_until)`
  yield* sql`
    create table dead_letters (
      id bigserial primary key,
      webhook_id text not null references webhooks(id) on delete cascade,
      event_id int8 not null,
      payload jsonb not null,
      attempts int4 not null,
      last_error text,
      failed_at timestamptz not null default now(),
      replayed_at timestamptz,
      unique (webhook_id, event_id)
    )`
})
