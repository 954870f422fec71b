/**
 * The one statement a writer flush sends: every row of the batch as `unnest` arrays, and the latest
 * state snapshot of each sensor in the batch, in one round trip and one implicit transaction.
 * Readings are idempotent on (sensor_key, ts); a snapshot never replaces a newer version (an entity
 * briefly running twice after a rebalance must not roll its state back). Alert events of the batch
 * go to `alert_outbox` in the same transaction: an alert exists exactly when its readings do.
 * With rollups on, the statement also appends one `rollup_marks` row holding exactly the rows its
 * insert stored (`returning`: not the duplicates it skipped), which the rollup job merges into the tiers.
 */
import type { WriteBuffer } from "./write-buffer.js"

const statement = (marks: boolean) => `
with snapshots as (
  insert into sensor_state (sensor_key, version, snapshot, last_seen, updated_at)
  select x.k, x.v, x.s, to_timestamp(x.ls / 1000.0), now()
  from jsonb_to_recordset($5::jsonb) as x(k int4, v int8, ls float8, s jsonb)
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
  on conflict do nothing${marks ? `
  returning sensor_key, ts, value, quality
),
marks as (
  insert into rollup_marks (keys, ts, vals, quality)
  select array_agg(sensor_key), array_agg(ts), array_agg(value), array_agg(quality) from rows
  having count(*) > 0` : ""}
)
select id from outbox`

/** The flush statement, with or without its rollup mark. */
export const FLUSH_SQL = statement(false)
export const FLUSH_SQL_WITH_MARKS = statement(true)

const arrayLiteral = (xs: ReadonlyArray<number>): string => `{${xs.join(",")}}`

/** Half-open index ranges of a buffer's rows, snapshots and alert events. */
export interface FlushPart {
  readonly rows: readonly [number, number]
  readonly snapshots: readonly [number, number]
  readonly alerts: readonly [number, number]
}

/** The whole buffer: the one statement of every flush that PostgreSQL accepts. */
export const wholeBuffer = (buffer: WriteBuffer): FlushPart => ({
  rows: [0, buffer.rows],
  snapshots: [0, buffer.snapshots.length],
  alerts: [0, buffer.alerts.length]
})

const range = <A>(xs: ReadonlyArray<A>, [lo, hi]: readonly [number, number]): ReadonlyArray<A> =>
  lo === 0 && hi === xs.length ? xs : xs.slice(lo, hi)

/**
 * The statement's parameters for a part of the buffer (the whole of it, except while the writer
 * isolates rows PostgreSQL refused).
 */
export const flushParams = (buffer: WriteBuffer, part: FlushPart = wholeBuffer(buffer)): ReadonlyArray<string> => {
  const alerts = range(buffer.alerts, part.alerts)
  return [
    arrayLiteral(range(buffer.keys, part.rows)),
    arrayLiteral(range(buffer.ts, part.rows)),
    arrayLiteral(range(buffer.values, part.rows)),
    arrayLiteral(range(buffer.quality, part.rows)),
    JSON.stringify(range(buffer.snapshots, part.snapshots)),
    alerts.length === 0 ? "[]" : JSON.stringify(alerts)
  ]
}

/**
 * Pairs the outbox ids the statement returned with the buffer's events: the rows are inserted in
 * array order and their ids drawn in that order, so ascending ids follow the events.
 */
export const outboxIds = (rows: ReadonlyArray<{ readonly id: unknown }>): Array<number> =>
  rows.map((r) => Number(r.id)).sort((a, b) => a - b)
