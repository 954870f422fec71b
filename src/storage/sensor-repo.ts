/**
 * The sensor registry (SSOT for config) and snapshots, as rows. Knows nothing of actors: snapshots
 * and config patches are opaque JSON here and decoded by their owners.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { orUnavailable } from "./errors.js"

export interface SensorRow {
  readonly key: number
  readonly id: string
  readonly config: unknown
  readonly createdAt: number
  readonly updatedAt: number
  readonly version: number | null
  readonly snapshot: unknown
  readonly lastSeen: number | null
}

interface RawSensorRow {
  readonly key: number
  readonly id: string
  readonly config: unknown
  readonly created_at: number
  readonly updated_at: number
  readonly version: string | null
  readonly snapshot: unknown
  readonly last_seen: number | null
}

const toRow = (r: RawSensorRow): SensorRow => ({
  key: r.key,
  id: r.id,
  config: r.config,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version === null ? null : Number(r.version),
  snapshot: r.snapshot,
  lastSeen: r.last_seen
})

export class SensorRepo extends Effect.Service<SensorRepo>()("flowmesh/SensorRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(`s.key, s.id, s.config,
      (extract(epoch from s.created_at) * 1000)::float8 as created_at,
      (extract(epoch from s.updated_at) * 1000)::float8 as updated_at,
      st.version, st.snapshot, (extract(epoch from st.last_seen) * 1000)::float8 as last_seen`)

    /** Registers the sensor on first sight (auto-create) and loads its config and last snapshot. */
    const activate = (id: string) =>
      sql<RawSensorRow>`
        with ins as (
          insert into sensors (id) values (${id}) on conflict (id) do nothing
          returning key, id, config, created_at, updated_at
        ), s as (
          select * from ins
          union all
          select key, id, config, created_at, updated_at from sensors where id = ${id}
        )
        select ${columns} from s left join sensor_state st on st.sensor_key = s.key limit 1`.pipe(
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.dieMessage(`sensor ${id} vanished during activation`) : Effect.succeed(toRow(rows[0]))
        ),
        orUnavailable
      )

    const find = (id: string) =>
      sql<RawSensorRow>`
        select ${columns} from sensors s left join sensor_state st on st.sensor_key = s.key
        where s.id = ${id}`.pipe(
        Effect.map((rows) => (rows[0] === undefined ? null : toRow(rows[0]))),
        orUnavailable
      )

    /** Keyset page of sensors by id, optionally under a prefix. */
    const list = (options: { readonly prefix: string | undefined; readonly after: string | undefined; readonly limit: number }) =>
      sql<RawSensorRow>`
        select ${columns} from sensors s left join sensor_state st on st.sensor_key = s.key
        where ${options.prefix === undefined ? sql`true` : sql`starts_with(s.id, ${options.prefix})`}
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

    /** Removes the sensor, its state and its readings. */
    const remove = (id: string) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql<{ key: number }>`delete from sensors where id = ${id} returning key`
            const key = rows[0]?.key
            if (key === undefined) return false
            yield* sql`delete from readings where sensor_key = ${key}`
            return true
          })
        )
        .pipe(orUnavailable)

    return { activate, find, list, putConfig, remove } as const
  })
}) {}
