/**
 * Writes one sealed buffer: one statement (flush-statement.ts) for all of it, transient failures retried
 * with capped, jittered exponential backoff until they pass; when PostgreSQL refuses the statement
 * for its data, the refused rows are isolated (flush-isolation.ts) so everything it accepts is
 * stored and the rest reported. Counts flushes, rows and failures.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Schedule } from "effect"
import { logWarning } from "../telemetry/log.js"
import { writerBatchRows, writerFailuresTotal, writerFlushSeconds, writerRowsTotal } from "../telemetry/metrics.js"
import { isolateRefused, reportRefused } from "./flush-isolation.js"
import { FLUSH_SQL, FLUSH_SQL_WITH_MARKS, type FlushPart, flushParams, outboxIds, wholeBuffer } from "./flush-statement.js"
import { describeSqlFailure, isDataFailure } from "./sql-failure.js"
import { ALL_STORED, type CommittedAlert, type FlushOutcome, type OutboxEvent, type WriteBuffer } from "./write-buffer.js"

const committedAlerts = (events: ReadonlyArray<OutboxEvent>, ids: (index: number) => number | undefined) => {
  const committed: Array<CommittedAlert> = []
  for (let i = 0; i < events.length; i++) {
    const id = ids(i)
    if (id !== undefined) committed.push({ id, notifier: events[i]!.n, event: events[i]!.e })
  }
  return committed
}

/** `failed`: how the last attempt failed (null once the buffer is written), for /ready. */
export const makeFlushBuffer = (
  sql: SqlClient.SqlClient,
  retryMaxDelayMs: number,
  failed: (error: string | null) => void,
  rollupMarks: boolean
) => {
  const statement = rollupMarks ? FLUSH_SQL_WITH_MARKS : FLUSH_SQL
  const retryPolicy = Schedule.exponential("20 millis", 2).pipe(
    Schedule.union(Schedule.spaced(Duration.millis(retryMaxDelayMs))),
    Schedule.jittered,
    Schedule.tapOutput(() => Effect.sync(() => writerFailuresTotal.inc()))
  )

  /** One statement for a part of the buffer; transient failures are retried until they pass. */
  const runPart = (buffer: WriteBuffer, part: FlushPart): Effect.Effect<ReadonlyArray<number>, SqlError> =>
    sql.unsafe<{ readonly id: unknown }>(statement, flushParams(buffer, part)).pipe(
      Effect.map(outboxIds),
      Effect.tapError((error) =>
        Effect.zipRight(
          Effect.sync(() => failed(describeSqlFailure(error))),
          isDataFailure(error) ? Effect.void : logWarning("writer flush failed; retrying", { rows: part.rows[1] - part.rows[0], error: describeSqlFailure(error) })
        )
      ),
      Effect.retry({ schedule: retryPolicy, while: (error) => !isDataFailure(error) })
    )

  /** PostgreSQL refused the flush for its data: store everything it accepts, report the rest. */
  const isolate = (buffer: WriteBuffer, error: SqlError) =>
    Effect.gen(function* () {
      yield* logWarning("PostgreSQL refused a flush for its data; isolating the refused rows", { rows: buffer.rows, error: describeSqlFailure(error) })
      const isolated = yield* isolateRefused(buffer, (part) => runPart(buffer, part))
      yield* reportRefused(buffer, isolated)
      const unstored = isolated.rows.map((r) => r.index)
      return {
        flushed: unstored.length === 0 ? ALL_STORED : { unstored },
        alerts: committedAlerts(buffer.alerts, (i) => isolated.alertIds.get(i))
      }
    })

  return Effect.fn("Writer.flush")(function* (buffer: WriteBuffer) {
    const started = performance.now()
    buffer.startedAt = Date.now()
    failed(null)
    const outcome: FlushOutcome = yield* runPart(buffer, wholeBuffer(buffer)).pipe(
      Effect.map((ids) => ({ flushed: ALL_STORED, alerts: committedAlerts(buffer.alerts, (i) => ids[i]) })),
      Effect.catchAll((error) => isolate(buffer, error))
    )
    failed(null)
    writerFlushSeconds.observe((performance.now() - started) / 1000)
    writerBatchRows.observe(buffer.rows)
    writerRowsTotal.inc(buffer.rows - outcome.flushed.unstored.length)
    return outcome
  })
}
