/**
 * The node's writer: one bounded group-commit pipeline into PostgreSQL. Callers append rows
 * synchronously (no per-reading promise) and get back the buffer's commit signal; a single flusher
 * seals a buffer when it holds `batchSize` rows or its oldest row waited `flushIntervalMs`, writes it
 * with one statement, retries transient failures with capped exponential backoff, and completes every
 * waiting ack at once. Buffers commit in the order they were sealed, so a snapshot is never ahead of
 * the readings in PostgreSQL.
 */
import { SqlClient } from "@effect/sql"
import { Deferred, Duration, Effect, Exit, Fiber, Option, Schedule, Schema } from "effect"
import { AppConfig } from "../config.js"
import {
  writerBatchRows,
  writerFailuresTotal,
  writerFlushSeconds,
  writerQueueRows,
  writerRowsTotal
} from "../telemetry/metrics.js"
import { FLUSH_SQL, flushParams, outboxIds } from "./flush-statement.js"
import { CommitTimeout, makeBuffer, type OutboxEvent, type SnapshotSource, type WriteBuffer } from "./write-buffer.js"
import { logError, logInfo, logWarning } from "../telemetry/log.js"

export { CommitTimeout, type SnapshotSource } from "./write-buffer.js"

export class WriterOverloaded extends Schema.TaggedError<WriterOverloaded>()("WriterOverloaded", {
  queuedRows: Schema.Number,
  capacityRows: Schema.Number
}) {}

/** An alert event now in `alert_outbox` under `id`. */
export interface CommittedAlert {
  readonly id: number
  readonly notifier: string
  readonly event: object
}
export type AlertListener = (alerts: ReadonlyArray<CommittedAlert>) => void

/** A commit to wait for: the sealed-or-open buffer the caller's rows went into. */
export type CommitTicket = Deferred.Deferred<void, CommitTimeout>

export class Writer extends Effect.Service<Writer>()("flowmesh/Writer", {
  scoped: Effect.gen(function* () {
    const { writer: settings, ingest } = yield* AppConfig
    const sql = yield* SqlClient.SqlClient

    let current = makeBuffer(Date.now())
    const ready: Array<WriteBuffer> = []
    let inFlight: WriteBuffer | null = null
    let pendingRows = 0
    let committedRows = 0
    let closing = false
    let wake: (() => void) | null = null

    const signal = () => {
      const w = wake
      wake = null
      w?.()
    }

    const sealCurrent = () => {
      current.seal()
      ready.push(current)
      current = makeBuffer(Date.now())
    }

    const waitForWork = Effect.async<void>((resume) => {
      if (ready.length > 0 || !current.isEmpty || closing) return resume(Effect.void)
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = null
      })
    })

    let alertListener: AlertListener = () => {}
    const announceAlerts = (events: ReadonlyArray<OutboxEvent>, ids: ReadonlyArray<number>) => {
      const committed: Array<CommittedAlert> = []
      for (let i = 0; i < events.length && i < ids.length; i++) {
        committed.push({ id: ids[i]!, notifier: events[i]!.n, event: events[i]!.e })
      }
      alertListener(committed)
    }

    const retryPolicy = Schedule.exponential("20 millis", 2).pipe(
      Schedule.union(Schedule.spaced(Duration.millis(settings.retryMaxDelayMs))),
      Schedule.jittered,
      Schedule.tapOutput(() => Effect.sync(() => writerFailuresTotal.inc()))
    )

    const write = Effect.fn("Writer.flush")(function* (buffer: WriteBuffer) {
      const started = performance.now()
      const rows = yield* sql.unsafe<{ readonly id: unknown }>(FLUSH_SQL, flushParams(buffer)).pipe(
        Effect.tapError((error) =>
          logWarning("writer flush failed; retrying", { rows: buffer.rows, error: error.message })
        ),
        Effect.retry(retryPolicy)
      )
      writerFlushSeconds.observe((performance.now() - started) / 1000)
      writerBatchRows.observe(buffer.rows)
      writerRowsTotal.inc(buffer.rows)
      committedRows += buffer.rows
      pendingRows -= buffer.rows
      writerQueueRows.set(pendingRows)
      yield* Deferred.succeed(buffer.done, undefined)
      if (buffer.alerts.length > 0) announceAlerts(buffer.alerts, outboxIds(rows))
    })

    const nextBuffer = Effect.gen(function* () {
      yield* waitForWork
      if (ready.length === 0 && !closing) {
        const dueIn = current.openedAt + settings.flushIntervalMs - Date.now()
        if (dueIn > 0) yield* Effect.race(Effect.sleep(Duration.millis(dueIn)), waitForWork)
      }
      if (ready.length === 0 && !current.isEmpty) sealCurrent()
      inFlight = ready.shift() ?? null
      return inFlight
    })

    const flusher = Effect.gen(function* () {
      while (!(closing && ready.length === 0 && current.isEmpty)) {
        const buffer = yield* nextBuffer
        if (buffer !== null) {
          yield* write(buffer)
          inFlight = null
        }
      }
    })

    const fiber = yield* Effect.forkDaemon(flusher)

    // One watchdog instead of a timer per waiting batch: a buffer older than the ack timeout
    // releases its waiters with CommitTimeout (its rows stay queued and are written later).
    // Sealed buffers count even when they carry only snapshots (sealing empties `dirty`).
    const expire = (buffer: WriteBuffer | null, now: number) => {
      if (buffer !== null && now - buffer.openedAt > ingest.ackTimeoutMs) {
        Deferred.unsafeDone(buffer.done, Exit.fail(new CommitTimeout({ waitedMs: ingest.ackTimeoutMs })))
      }
    }
    yield* Effect.sync(() => {
      const now = Date.now()
      expire(inFlight, now)
      for (const buffer of ready) expire(buffer, now)
      if (!current.isEmpty) expire(current, now)
    }).pipe(Effect.repeat(Schedule.spaced(Duration.millis(Math.max(10, Math.floor(ingest.ackTimeoutMs / 10))))), Effect.forkScoped)
    // Drain on shutdown: everything queued is written (bounded in time), then the flusher stops.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        signal()
        const drained = yield* Fiber.await(fiber).pipe(Effect.timeout(Duration.seconds(settings.drainTimeoutSeconds)), Effect.option)
        if (Option.isSome(drained)) yield* logInfo("writer drained", { rowsWritten: committedRows })
        if (Option.isNone(drained)) {
          yield* logError("writer did not drain in time; unwritten rows were never acknowledged", { rows: pendingRows })
          yield* Fiber.interrupt(fiber)
        }
      })
    )

    const hasRoom = (rows: number): boolean => !closing && pendingRows + rows <= settings.queueRows

    return {
      /** Whether `rows` more fit; check before deciding, so a full writer never half-takes a batch. */
      hasRoom,
      overloaded: (): WriterOverloaded =>
        new WriterOverloaded({ queuedRows: pendingRows, capacityRows: settings.queueRows }),
      /** Appends one row to the open buffer; call `commitPoint` after the batch's last row. */
      push: (sensorKey: number, ts: number, value: number, quality: number): void => {
        if (current.isEmpty) current.openedAt = Date.now()
        current.keys.push(sensorKey)
        current.ts.push(ts)
        current.values.push(value)
        current.quality.push(quality)
        pendingRows++
      },
      /**
       * Ends a batch and returns the commit to await; with a source, the sensor's snapshot is
       * written in the same flush (serialized when the buffer is sealed).
       */
      commitPoint: (source: SnapshotSource | null): CommitTicket => {
        if (source !== null) {
          if (current.isEmpty) current.openedAt = Date.now()
          current.dirty.set(source.sensorKey, source)
        }
        const ticket = current.done
        writerQueueRows.set(pendingRows)
        if (current.rows >= settings.batchSize) sealCurrent()
        signal()
        return ticket
      },
      /**
       * Queues an alert event for `alert_outbox`, committed with the rows pushed before the next
       * `commitPoint`; once committed it is handed to the listener set with `onAlertsCommitted`.
       */
      pushAlert: (notifier: string, event: object): void => {
        if (current.isEmpty) current.openedAt = Date.now()
        current.alerts.push({ n: notifier, e: event })
      },
      /** The one consumer of committed alert events (the node's alert relay). */
      onAlertsCommitted: (listener: AlertListener): void => {
        alertListener = listener
      },
      /** Succeeds after the commit; fails with CommitTimeout once the batch waited the ack timeout. */
      awaitCommit: (ticket: CommitTicket): Effect.Effect<void, CommitTimeout> => Deferred.await(ticket),
      queuedRows: (): number => pendingRows
    } as const
  })
}) {}
