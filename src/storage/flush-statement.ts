/**
 * The one statement a writer flush sends: every row of the batch as `unnest` arrays, and the latest
 * state snapshot of each sensor in the batch, in one round trip and one implicit transaction.
 * Readings are idempotent on (sensor_key, ts); a snapshot never replaces a newer version (an entity
 * briefly running twice after a rebalance must not roll its state back). Alert events of the batch
 * go to `alert_outbox` in the same transaction: an alert exists exactly when its readings do.
 */
import type { WriteBuffer } from "./write-buffer.js"

export const FLUSH_SQL = `
with snapshots as (
  insert into sensor_state (sensor_key, version, snapshot, last_seen, updated_at)
  select x.k, x.v, x.s::jsonb, to_timestamp(x.ls / 1000.0), now()
  from jsonb_to_recordset($5::jsonb) as x(k int4, v int8, ls float8, s text)
  where exists (select 1 from sensors where sensors.key = x.k)
  on conflict (sensor_key) do update
    set version = excluded.version, snapshot = excluded.snapshot,
        last_seen = excluded.last_seen, updated_at = excluded.updated_at
    where sensor_state.version < excluded.version
),
outbox as (
  insert into alert_outbox (notifier, event)
  select x.n, x.e from jsonb_to_recordset($6::jsonb) as x(n text, e jsonb)
  returning id
),
rows as (
  insert into readings (sensor_key, ts, value, quality)
  select u.k, to_timestamp(u.t / 1000.0), u.v, u.q
  from unnest($1::int4[], $2::float8[], $3::float8[], $4::int2[]) as u(k, t, v, q)
  on conflict do nothing
)
select id from outbox`

const arrayLiteral = (xs: ReadonlyArray<number>): string => `{${xs.join(",")}}`

export const flushParams = (buffer: WriteBuffer): ReadonlyArray<string> => [
  arrayLiteral(buffer.keys),
  arrayLiteral(buffer.ts),
  arrayLiteral(buffer.values),
  arrayLiteral(buffer.quality),
  JSON.stringify(buffer.snapshots),
  buffer.alerts.length === 0 ? "[]" : JSON.stringify(buffer.alerts)
]

/**
 * Pairs the outbox ids the statement returned with the buffer's events: the rows are inserted in
 * array order and their ids drawn in that order, so ascending ids follow the events.
 */
export const outboxIds = (rows: ReadonlyArray<{ readonly id: unknown }>): Array<number> =>
  rows.map((r) => Number(r.id)).sort((a, b) => a - b)
