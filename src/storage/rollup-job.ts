/**
 * The rollup job: every node polls, and one at a time (a transaction-scoped advisory lock) takes a
 * batch of committed flush marks and merges their rows into the 1 min, 1 h and 1 d tiers in one
 * statement (storage/rollup-sql.ts): a failure (or a node killed mid-way) rolls the marks back with
 * the buckets, and the next run takes them again. Ingest never waits on it; `flowmesh_rollup_lag_seconds` says how
 * far behind the committed readings the aggregates are.
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer } from "effect"
import { AppConfig } from "../config.js"
import { logWarning } from "../telemetry/log.js"
import {
  rollupBuckets,
  rollupFailuresTotal,
  rollupLagSeconds,
  rollupMarksTotal,
  rollupPendingMarks,
  rollupRunSeconds
} from "../telemetry/metrics.js"
import { PENDING_SQL, ROLLUP_SQL } from "./rollup-sql.js"
import { describeSqlFailure } from "./sql-failure.js"

export interface RollupRun {
  /** False when another node held the job's lock (nothing was done). */
  readonly ran: boolean
  readonly marks: number
  readonly rows: number
  readonly minutes: number
  readonly hours: number
  readonly days: number
}

const IDLE = { marks: 0, rows: 0, minutes: 0, hours: 0, days: 0 }

/** One rollup transaction over at most `batchMarks` marks. */
export const rollUpOnce = (batchMarks: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const [lock] = yield* sql<{ readonly got: boolean }>`select pg_try_advisory_xact_lock(hashtext('flowmesh.rollups')) as got`
        if (lock?.got !== true) return { ran: false, ...IDLE } satisfies RollupRun
        const [run] = yield* sql.unsafe<Omit<RollupRun, "ran">>(ROLLUP_SQL, [batchMarks])
        return { ran: true, ...(run ?? IDLE) } satisfies RollupRun
      })
    )
  })

/** Rolls up until no committed mark is left (runs of at most `batchMarks` each); for tests and the job. */
export const rollUpAll = (batchMarks: number) =>
  Effect.gen(function* () {
    let total = 0
    for (;;) {
      const run = yield* rollUpOnce(batchMarks)
      total += run.marks
      if (!run.ran || run.marks < batchMarks) return total
    }
  })

const observe = (run: RollupRun, seconds: number) => {
  if (!run.ran || run.marks === 0) return
  rollupRunSeconds.observe(seconds)
  rollupMarksTotal.inc(run.marks)
  rollupBuckets["1m"].inc(run.minutes)
  rollupBuckets["1h"].inc(run.hours)
  rollupBuckets["1d"].inc(run.days)
}

export const RollupJobLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { rollups } = yield* AppConfig
    if (!rollups.enabled) return
    const sql = yield* SqlClient.SqlClient
    const pause = Effect.sleep(Duration.millis(rollups.intervalMs))

    const gauges = sql.unsafe<{ readonly pending: number; readonly lag: number }>(PENDING_SQL).pipe(
      Effect.tap(([row]) =>
        Effect.sync(() => {
          rollupPendingMarks.set(row?.pending ?? 0)
          rollupLagSeconds.set(row === undefined || row.pending === 0 ? 0 : row.lag)
        })
      ),
      Effect.ignore
    )

    const tick: Effect.Effect<void> = Effect.gen(function* () {
      const started = performance.now()
      const run = yield* rollUpOnce(rollups.batchMarks)
      observe(run, (performance.now() - started) / 1000)
      yield* gauges
      // A full batch means more are waiting: go on at once; otherwise wait for the next interval.
      if (!run.ran || run.marks < rollups.batchMarks) yield* pause
    }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.catchAll((error) =>
        Effect.sync(() => rollupFailuresTotal.inc()).pipe(
          Effect.zipRight(logWarning("rollup run failed; its marks stay for the next run", { error: describeSqlFailure(error) })),
          Effect.zipRight(pause)
        )
      )
    )
    yield* Effect.forkScoped(Effect.forever(tick))
  })
)
