/** A sensor's stored readings, newest first, keyset-paginated on ts. */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { orUnavailable } from "./errors.js"

export interface HistoryRow {
  readonly ts: number
  readonly value: number
  readonly quality: number
}

export class HistoryRepo extends Effect.Service<HistoryRepo>()("flowmesh/HistoryRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    /** Readings with from <= ts < to (epoch ms), newest first, at most `limit`. */
    const range = (sensorId: string, from: number, to: number, limit: number) =>
      sql<HistoryRow>`
        select (extract(epoch from r.ts) * 1000)::float8 as ts, r.value, r.quality
        from readings r
        where r.sensor_key = (select key from sensors where id = ${sensorId})
          and r.ts >= to_timestamp(${from} / 1000.0) and r.ts < to_timestamp(${to} / 1000.0)
        order by r.ts desc
        limit ${limit}`.pipe(orUnavailable)
    return { range } as const
  })
}) {}
