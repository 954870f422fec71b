/**
 * Loading sensors for their shard host (and registering them on first sight), batched: a host asks
 * for every sensor first seen in the same turn of the event loop in one statement. A node that
 * starts, or a burst of new sensors, costs one round trip per batch instead of one per sensor.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { type DatabaseUnavailable, orUnavailable } from "./errors.js"
import { type RawSensorRow, SENSOR_COLUMNS, type SensorRow, toRow } from "./sensor-row.js"

const MAX_BATCH = 1_000

/** The default sensor window size (pinned to the core's default by a unit test). */
export const DEFAULT_WINDOW_SIZE = 60

/** Readings stored after a sensor's snapshot, oldest first (see `tail` in the statement). */
export interface StoredTail {
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  readonly quality: ReadonlyArray<number>
}

export interface ActivatedSensor extends SensorRow {
  readonly tail: StoredTail
}

const EMPTY_TAIL: StoredTail = { ts: [], values: [], quality: [] }

interface RawActivatedRow extends RawSensorRow {
  readonly tail_ts: ReadonlyArray<number> | null
  readonly tail_values: ReadonlyArray<number> | null
  readonly tail_quality: ReadonlyArray<number> | null
}

const toActivated = (r: RawActivatedRow): ActivatedSensor => ({
  ...toRow(r),
  tail: r.tail_ts === null ? EMPTY_TAIL : { ts: r.tail_ts, values: r.tail_values ?? [], quality: r.tail_quality ?? [] }
})

export class SensorActivation extends Effect.Service<SensorActivation>()("flowmesh/SensorActivation", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // One parameter for all ids: the driver escapes the array, so no id can reach the SQL text.
    // The planner prices the per-partition tail lookups high enough to JIT-compile the statement:
    // ~700 ms of compilation for a 33 ms statement (measured on PostgreSQL 15 with 1,000 new
    // sensors), which capped first contacts at ~2,000 sensors/s. `set local` keeps it to this
    // statement and works behind any pooler.
    const load = (ids: ReadonlyArray<string>) =>
      sql.withTransaction(Effect.zipRight(sql.unsafe("set local jit = off"), query(ids))).pipe(orUnavailable)

    const query = (ids: ReadonlyArray<string>) =>
      sql.unsafe<RawActivatedRow>(
        `with input as (select unnest($1::text[]) as id),
        ins as (
          insert into sensors (id) select id from input on conflict (id) do nothing
          returning key, id, config, created_at, updated_at
        ), s as (
          select * from ins
          union all
          select key, id, config, created_at, updated_at from sensors where id in (select id from input)
        )
        select ${SENSOR_COLUMNS}, tail.tail_ts, tail.tail_values, tail.tail_quality
        from s left join sensor_state st on st.sensor_key = s.key
        left join lateral (
          select array_agg(t.ms order by t.ms) as tail_ts, array_agg(t.value order by t.ms) as tail_values,
                 array_agg(t.quality order by t.ms) as tail_quality
          from (
            select (extract(epoch from r.ts) * 1000)::float8 as ms, r.value, r.quality from readings r
            -- A sensor without a snapshot has nothing to replay (its first snapshot commits with its
            -- first readings): the gate skips its scan of every partition.
            where st.snapshot is not null and r.sensor_key = s.key
              and r.ts > to_timestamp(((st.snapshot->>'lastAcceptedTs')::float8) / 1000.0)
            order by r.ts desc
            limit least(coalesce((s.config->>'windowSize')::int, $2::int), 10000)
          ) t
        ) tail on true`,
        [ids, DEFAULT_WINDOW_SIZE]
      )

    /**
     * Each sensor's row (created with defaults if new), its last snapshot, and the readings stored
     * after that snapshot (a node killed between its commit and its next snapshot leaves some):
     * replayed into the window, they let the sensor recognise a resend as a duplicate. One
     * statement per MAX_BATCH ids. A sensor missing from the answer was being registered by another
     * node at the same moment (invisible to this statement): the caller retries it.
     */
    const activateAll = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, ActivatedSensor>, DatabaseUnavailable> =>
      Effect.gen(function* () {
        const found = new Map<string, ActivatedSensor>()
        for (let i = 0; i < ids.length; i += MAX_BATCH) {
          const rows = yield* load(ids.slice(i, i + MAX_BATCH))
          for (const r of rows) found.set(r.id, toActivated(r))
        }
        return found
      })

    return { activateAll } as const
  })
}) {}
