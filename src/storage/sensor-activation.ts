/**
 * Loading a sensor for a new actor incarnation (and registering it on first sight), batched: every
 * activation asked for in the same tick goes into one statement. A node that starts, or a burst of
 * new sensors, costs one round trip per batch instead of one per sensor.
 */
import { SqlClient } from "@effect/sql"
import { Deferred, Effect, FiberId } from "effect"
import { DatabaseUnavailable, orUnavailable } from "./errors.js"
import { type RawSensorRow, SENSOR_COLUMNS, type SensorRow, toRow } from "./sensor-row.js"

const MAX_BATCH = 1_000

export class SensorActivation extends Effect.Service<SensorActivation>()("flowmesh/SensorActivation", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let pending = new Map<string, Deferred.Deferred<SensorRow, DatabaseUnavailable>>()
    let scheduled = false

    // One parameter for all ids: the driver escapes the array, so no id can reach the SQL text.
    const load = (ids: ReadonlyArray<string>) =>
      sql.unsafe<RawSensorRow>(
        `with input as (select unnest($1::text[]) as id),
        ins as (
          insert into sensors (id) select id from input on conflict (id) do nothing
          returning key, id, config, created_at, updated_at
        ), s as (
          select * from ins
          union all
          select key, id, config, created_at, updated_at from sensors where id in (select id from input)
        )
        select ${SENSOR_COLUMNS} from s left join sensor_state st on st.sensor_key = s.key`,
        [ids]
      ).pipe(orUnavailable)

    const flush = Effect.gen(function* () {
      const batch = pending
      pending = new Map()
      scheduled = false
      const ids = [...batch.keys()]
      for (let i = 0; i < ids.length; i += MAX_BATCH) {
        const chunk = ids.slice(i, i + MAX_BATCH)
        const result = yield* Effect.either(load(chunk))
        if (result._tag === "Left") {
          for (const id of chunk) yield* Deferred.fail(batch.get(id)!, result.left)
          continue
        }
        const found = new Map(result.right.map((r) => [r.id, toRow(r)]))
        for (const id of chunk) {
          const row = found.get(id)
          // Missing only if another node inserted it concurrently (invisible to this statement).
          yield* row === undefined
            ? Deferred.fail(batch.get(id)!, new DatabaseUnavailable({ message: `sensor ${id} was being registered concurrently; retry` }))
            : Deferred.succeed(batch.get(id)!, row)
        }
      }
    })

    /** The sensor's row (created with defaults if new) and its last snapshot. */
    const activate = (id: string): Effect.Effect<SensorRow, DatabaseUnavailable> =>
      Effect.suspend(() => {
        let waiting = pending.get(id)
        if (waiting === undefined) {
          waiting = Deferred.unsafeMake<SensorRow, DatabaseUnavailable>(FiberId.none)
          pending.set(id, waiting)
        }
        const wait = Deferred.await(waiting)
        if (scheduled) return wait
        scheduled = true
        return Effect.zipRight(Effect.forkDaemon(Effect.zipRight(Effect.yieldNow(), flush)), wait)
      })

    return { activate } as const
  })
}) {}
