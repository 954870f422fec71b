/**
 * What the writer does when PostgreSQL refuses a whole flush for its data (see sql-failure.ts):
 * it bisects the buffer until every refused item stands alone, commits everything else, and
 * reports what it could not store. Readings go first, then snapshots and alert events, so a
 * snapshot is never in PostgreSQL ahead of the readings it describes. Each part is its own
 * transaction; that is safe because readings are idempotent on (sensor, ts), snapshots never go
 * back a version, and nobody is answered before the last part commits.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { logError } from "../telemetry/log.js"
import { writerUnstoredTotal } from "../telemetry/metrics.js"
import type { FlushPart } from "./flush-statement.js"
import { describeSqlFailure } from "./sql-failure.js"
import type { WriteBuffer } from "./write-buffer.js"

/** Runs the flush statement for one part; fails only with a data failure (transient ones are retried inside). */
export type RunPart = (part: FlushPart) => Effect.Effect<ReadonlyArray<number>, SqlError>

export interface Refused {
  readonly index: number
  readonly error: SqlError
}

export interface Isolated {
  /** Rows not stored, by index into the buffer. */
  readonly rows: ReadonlyArray<Refused>
  readonly snapshots: ReadonlyArray<Refused>
  readonly alerts: ReadonlyArray<Refused>
  /** Outbox ids of the stored alert events, by the event's index into the buffer. */
  readonly alertIds: ReadonlyMap<number, number>
}

const NONE: readonly [number, number] = [0, 0]

/** Splits [lo, hi) in halves until each refused index stands alone. */
const bisect = (
  lo: number,
  hi: number,
  run: (lo: number, hi: number) => Effect.Effect<void, SqlError>,
  refused: Array<Refused>
): Effect.Effect<void> =>
  hi <= lo
    ? Effect.void
    : Effect.catchAll(run(lo, hi), (error) => {
        if (hi - lo === 1) return Effect.sync(() => void refused.push({ index: lo, error }))
        const mid = lo + Math.floor((hi - lo) / 2)
        return Effect.zipRight(bisect(lo, mid, run, refused), bisect(mid, hi, run, refused))
      })

export const isolateRefused = (buffer: WriteBuffer, runPart: RunPart): Effect.Effect<Isolated> =>
  Effect.gen(function* () {
    const rows: Array<Refused> = []
    const snapshots: Array<Refused> = []
    const alerts: Array<Refused> = []
    const alertIds = new Map<number, number>()
    yield* bisect(0, buffer.rows, (lo, hi) => Effect.asVoid(runPart({ rows: [lo, hi], snapshots: NONE, alerts: NONE })), rows)
    yield* bisect(0, buffer.snapshots.length, (lo, hi) => Effect.asVoid(runPart({ rows: NONE, snapshots: [lo, hi], alerts: NONE })), snapshots)
    yield* bisect(
      0,
      buffer.alerts.length,
      (lo, hi) =>
        Effect.map(runPart({ rows: NONE, snapshots: NONE, alerts: [lo, hi] }), (ids) => {
          for (let i = 0; i < ids.length; i++) alertIds.set(lo + i, ids[i]!)
        }),
      alerts
    )
    return { rows, snapshots, alerts, alertIds }
  })

/** Counts what was left out, and logs it with PostgreSQL's own words (the first 10 readings of a batch). */
export const reportRefused = (buffer: WriteBuffer, isolated: Isolated): Effect.Effect<void> =>
  Effect.gen(function* () {
    writerUnstoredTotal.reading.inc(isolated.rows.length)
    writerUnstoredTotal.snapshot.inc(isolated.snapshots.length)
    writerUnstoredTotal.alert.inc(isolated.alerts.length)
    for (const { index, error } of isolated.rows.slice(0, 10)) {
      yield* logError("reading not stored: PostgreSQL refused it", {
        sensorKey: buffer.keys[index],
        ts: buffer.ts[index],
        value: buffer.values[index],
        error: describeSqlFailure(error)
      })
    }
    for (const { index, error } of isolated.snapshots) {
      yield* logError("sensor snapshot not stored: PostgreSQL refused it; the sensor writes a new one with its next batch", {
        sensorKey: buffer.snapshots[index]?.k,
        error: describeSqlFailure(error)
      })
    }
    for (const { index, error } of isolated.alerts) {
      yield* logError("alert event not stored: PostgreSQL refused it", { event: buffer.alerts[index], error: describeSqlFailure(error) })
    }
  })
