/**
 * The sensor registry (SSOT for config) and snapshots, as rows. Knows nothing of actors: snapshots
 * and config patches are opaque JSON here and decoded by their owners.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { orUnavailable } from "./errors.js"
import { type RawSensorRow, SENSOR_COLUMNS, toRow } from "./sensor-row.js"

export type { SensorRow } from "./sensor-row.js"

export class SensorRepo extends Effect.Service<SensorRepo>()("flowmesh/SensorRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(SENSOR_COLUMNS)

    const find = (id: string) =>
      sql<RawSensorRow>`
        select ${columns} from sensors s left join sensor_state st on st.sensor_key = s.key
        where s.id = ${id}`.pipe(
        Effect.map((rows) => (rows[0] === undefined ? null : toRow(rows[0]))),
        orUnavailable
      )

    /** Keyset page of a tenant's sensors by (internal) id, under an (internal) prefix. */
    const list = (options: { readonly tenant: string; readonly prefix: string; readonly after: string | undefined; readonly limit: number }) =>
      sql<RawSensorRow>`
        select ${columns} from sensors s left join sensor_state st on st.sensor_key = s.key
        where s.tenant = ${options.tenant}
          and ${options.prefix === "" ? sql`true` : sql`starts_with(s.id, ${options.prefix})`}
          and ${options.after === undefined ? sql`true` : sql`s.id > ${options.after}`}
        order by s.id limit ${options.limit}`.pipe(Effect.map((rows) => rows.map(toRow)), orUnavailable)

    /** Stores the config patch, creating the sensor if needed; returns its key. */
    const putConfig = (id: string, patch: unknown) =>
      sql<{ key: number; created: boolean }>`
        insert into sensors (id, config) values (${id}, ${JSON.stringify(patch)}::jsonb)
        on conflict (id) do update set config = excluded.config, updated_at = now()
        returning key, (xmax = 0) as created`.pipe(
        Effect.map((rows) => rows[0] ?? { key: 0, created: false }),
        orUnavailable
      )

    /** Removes the sensor, its state, its readings and its rollups. */
    const remove = (id: string) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql<{ key: number }>`delete from sensors where id = ${id} returning key`
            const key = rows[0]?.key
            if (key === undefined) return false
            yield* sql`delete from readings where sensor_key = ${key}`
            yield* sql`delete from rollup_1m where sensor_key = ${key}`
            yield* sql`delete from rollup_1h where sensor_key = ${key}`
            yield* sql`delete from rollup_1d where sensor_key = ${key}`
            return true
          })
        )
        .pipe(orUnavailable)

    return { find, list, putConfig, remove } as const
  })
}) {}
