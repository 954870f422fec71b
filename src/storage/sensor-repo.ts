/**
 * The sensor registry (SSOT for config) and snapshots, as rows. Knows nothing of actors: snapshots
 * and config patches are opaque JSON here and decoded by their owners.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { orUnavailable } from "./errors.js"
import { type RawSensorRow, type RawSensorSummary, SENSOR_COLUMNS, toRow, toSummary } from "./sensor-row.js"

export type { SensorRow, SensorSummaryRow } from "./sensor-row.js"

export class SensorRepo extends Effect.Service<SensorRepo>()("flowmesh/SensorRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql.literal(SENSOR_COLUMNS)
    /** A snapshot field as float8, null unless it is a JSON number (a hand-edited row must not fail the list). */
    const number = (field: string) =>
      sql.literal(`(case when jsonb_typeof(${field}) = 'number' then (${field})::text::float8 end)`)

    const find = (id: string) =>
      sql<RawSensorRow>`
        select ${columns} from sensors s left join sensor_state st on st.sensor_key = s.key
        where s.id = ${id}`.pipe(
        Effect.map((rows) => (rows[0] === undefined ? null : toRow(rows[0]))),
        orUnavailable
      )

    /**
     * Keyset page of a tenant's sensors by (internal) id, under an (internal) prefix, as the list
     * shows them: status, last value and counters as of the sensor's last snapshot (not the whole
     * snapshot: its window is most of its size), `offline` while an offline alert is unresolved,
     * optionally only those whose listed status (offline first) is one of `statuses`.
     */
    const listSummaries = (options: {
      readonly tenant: string
      readonly prefix: string
      readonly after: string | undefined
      readonly limit: number
      readonly statuses: ReadonlyArray<string> | undefined
    }) =>
      sql<RawSensorSummary>`
        select id, config, listed_status as status, last_seen, last_value, accepted, suspect from (
          select s.id, s.config,
            case when exists (
              select 1 from alerts a where a.sensor = s.id and a.kind = 'offline' and a.status <> 'resolved'
            ) then 'offline' else coalesce(st.snapshot->>'status', 'unknown') end as listed_status,
            -- A sensor that never accepted a reading is snapshotted with last_seen at epoch 0: never.
            (extract(epoch from nullif(st.last_seen, to_timestamp(0))) * 1000)::float8 as last_seen,
            ${number("st.snapshot->'lastValue'")} as last_value,
            coalesce(${number("st.snapshot->'counters'->'accepted'")}, 0) as accepted,
            coalesce(${number("st.snapshot->'counters'->'suspect'")}, 0) as suspect
          from sensors s left join sensor_state st on st.sensor_key = s.key
          where s.tenant = ${options.tenant}
            and ${options.prefix === "" ? sql`true` : sql`starts_with(s.id, ${options.prefix})`}
            and ${options.after === undefined ? sql`true` : sql`s.id > ${options.after}`}
        ) listed
        where ${options.statuses === undefined ? sql`true` : sql`listed_status = any(array(select jsonb_array_elements_text(${JSON.stringify(options.statuses)}::jsonb)))`}
        order by id limit ${options.limit}`.pipe(Effect.map((rows) => rows.map(toSummary)), orUnavailable)

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

    return { find, listSummaries, putConfig, remove } as const
  })
}) {}
