import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Alert fan-out from rows. A notification has one `alert_fanout` row per channel it still has to
 * reach (`live`: dashboards, `stream`: the Redis stream, `webhooks`: the webhook targets, where it
 * becomes `webhook_deliveries` rows), written in the notifier's transaction with the transition
 * and deleted once the channel took it. A fan-out cut short (the notifier's node lost its shard,
 * or died) leaves its rows, and the notifier's next owner delivers them, in id order per channel.
 * `webhook_deliveries.alert_id` lets a target's later event of an alert wait for its earlier ones.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    create table alert_fanout (
      id bigserial primary key,
      notifier text not null,
      channel text not null check (channel in ('live', 'stream', 'webhooks')),
      payload jsonb not null,
      created_at timestamptz not null default now()
    )`
  yield* sql`create index alert_fanout_pending on alert_fanout (notifier, channel, id)`
  yield* sql`create index alert_fanout_age on alert_fanout (created_at)`
  yield* sql`alter table webhook_deliveries add column alert_id int8 generated always as ((payload->'alert'->>'id')::int8) stored`
  yield* sql`create index webhook_deliveries_alert on webhook_deliveries (webhook_id, alert_id, event_id) where alert_id is not null`
})
