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
import type { FlushPart } from "./flush-statement.js"
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
