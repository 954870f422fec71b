/** A sensor's stored readings: pages newest first (keyset on ts), or the whole range as a stream, oldest first. */
import { SqlClient } from "@effect/sql"
import { Effect, Stream } from "effect"
import { DatabaseUnavailable, orUnavailable } from "./errors.js"

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
    /** Every reading with from <= ts < to, oldest first, read through a cursor (constant memory). */
    const stream = (sensorId: string, from: number, to: number) =>
      sql<HistoryRow>`
        select (extract(epoch from r.ts) * 1000)::float8 as ts, r.value, r.quality
        from readings r
        where r.sensor_key = (select key from sensors where id = ${sensorId})
          and r.ts >= to_timestamp(${from} / 1000.0) and r.ts < to_timestamp(${to} / 1000.0)
        order by r.ts`.stream.pipe(Stream.mapError(() => new DatabaseUnavailable({ message: "database unavailable" })))
    return { range, stream } as const
  })
}) {}
