/**
 * The node's writer: one bounded group-commit pipeline into PostgreSQL. Callers append rows
 * synchronously (no per-reading promise) and get back the buffer's commit signal; a single flusher
 * seals a buffer when it holds `batchSize` rows or as soon as a flush lane is free, writes it
 * with one statement, retries transient failures with capped exponential backoff, and completes every
 * waiting ack at once. Buffers commit in the order they were sealed, so a snapshot is never ahead of
 * the readings in PostgreSQL. Once a buffer's waiters are answered, its stored readings are lent to
 * the readings listener (the node's forwarder), which copies them and returns.
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Exit, Fiber, Option, Runtime, Schedule, Schema } from "effect"
import { type Commit, doneCommit } from "./commit.js"
import type { SensorAlertEvent } from "../domain/alert-event.js"
import { AppConfig } from "../config.js"
import { reportWriterQueueRows } from "../telemetry/metrics.js"
import { makeFlushBuffer } from "./flush-buffer.js"
import {
  ALL_STORED,
  CommitTimeout,
  type Flushed,
  makeBuffer,
  type CommittedAlert,
  type CommittedReadings,
  type SnapshotSource,
  type WriteBuffer
} from "./write-buffer.js"
import { logError, logInfo } from "../telemetry/log.js"

export { CommitTimeout, type Flushed, type SnapshotSource } from "./write-buffer.js"

export class WriterOverloaded extends Schema.TaggedError<WriterOverloaded>()("WriterOverloaded", {
  queuedRows: Schema.Number,
  capacityRows: Schema.Number
}) {}

export type { CommittedAlert, CommittedReadings } from "./write-buffer.js"
export type AlertListener = (alerts: ReadonlyArray<CommittedAlert>) => void
/**
 * Told of every committed buffer's readings, after its waiters were answered; `unstored` rows (see
 * `Flushed`) were refused and are not in PostgreSQL. Called on the writer's path: it must only copy
 * (O(1) per reading, no I/O, no await) and return.
 */
export type ReadingsListener = (readings: CommittedReadings, unstored: ReadonlyArray<number>) => void

/** A commit to wait for: the sealed-or-open buffer the caller's rows went into. */
export type CommitTicket = Commit

/** Whether the writer is committing: /ready turns false while a flush has been stuck past the stall bound. */
export interface WriterHealth {
  readonly committing: boolean
  /** How long the flush in progress has been trying (0 when idle). */
  readonly stalledMs: number
  /** The last failure of the flush in progress, if it failed. */
  readonly lastError: string | null
}

/**
 * Snapshots are serialized when their buffer is sealed (~30 µs each): a buffer holds at most this
 * many, so that an eviction wave sealing tens of thousands of them never stalls the event loop in
 * one piece (and one statement stays ~1 MB).
 */
const SNAPSHOTS_PER_FLUSH = 500

const COMMITTED: CommitTicket = doneCommit(Exit.succeed(ALL_STORED))

export class Writer extends Effect.Service<Writer>()("flowmesh/Writer", {
  scoped: Effect.gen(function* () {
    const { writer: settings, ingest, rollups } = yield* AppConfig
    const sql = yield* SqlClient.SqlClient

    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    // A waiter that throws (a bug in an edge's callback) is logged; the other waiters and the writer go on.
    const waiterFailed = (error: unknown) => {
      runFork(logError("a commit waiter failed", { error: String(error) }))
    }
    let current = makeBuffer(Date.now(), waiterFailed)
    const ready: Array<WriteBuffer> = []
    /** Buffers being written, in the order they were sealed (their commits are announced in that order). */
    const inFlight: Array<WriteBuffer> = []
    let pendingRows = 0
    yield* Effect.acquireRelease(Effect.sync(() => reportWriterQueueRows(() => pendingRows)), (remove) => Effect.sync(remove))
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
      current = makeBuffer(Date.now(), waiterFailed)
    }

    const waitForWork = Effect.async<void>((resume) => {
      if (ready.length > 0 || !current.isEmpty || closing) return resume(Effect.void)
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = null
      })
    })

    let alertListener: AlertListener = () => {}
    const announce = (committed: ReadonlyArray<CommittedAlert>) => {
      if (committed.length > 0) alertListener(committed)
    }
    let readingsListener: ReadingsListener | null = null
    const announceReadings = (buffer: WriteBuffer, unstored: ReadonlyArray<number>) => {
      if (readingsListener === null || buffer.rows === unstored.length) return
      try {
        readingsListener(buffer, unstored)
      } catch (error) {
        runFork(logError("the committed readings listener failed", { error: String(error) }))
      }
    }

    // How the last attempt of a flush failed, for /ready (the oldest flush in flight says how long).
    let lastError: string | null = null
    const flushBuffer = makeFlushBuffer(
      sql,
      settings.retryMaxDelayMs,
      (error) => {
        lastError = error
      },
      rollups.enabled
    )

    /**
     * Completes, in seal order, every buffer at the head of `inFlight` whose statement is done: a
     * later buffer that commits first still answers after the earlier ones, so a commit ticket
     * (and `barrier`) always covers everything handed over before it.
     */
    const completeInOrder = Effect.sync(() => {
      while (inFlight.length > 0 && inFlight[0]!.outcome !== null) {
        const buffer = inFlight.shift()!
        const outcome = buffer.outcome!
        pendingRows -= buffer.rows
        buffer.done.complete(Exit.succeed(outcome.flushed))
        announce(outcome.alerts)
        announceReadings(buffer, outcome.flushed.unstored)
      }
    })

    const write = (buffer: WriteBuffer) =>
      Effect.flatMap(flushBuffer(buffer), (outcome) => {
        committedRows += buffer.rows - outcome.flushed.unstored.length
        buffer.outcome = outcome
        return completeInOrder
      })

    /**
     * Up to WRITER_CONCURRENCY flushes at once (each on its own pool connection), so that one
     * buffer is written while the previous one commits. A free lane is taken before the buffer is
     * sealed: everything that arrived while the lanes were busy goes in one statement (group
     * commit), instead of a small buffer sealed early waiting for a lane while the next one fills.
     * A buffer carrying alert events runs alone: the outbox ids must follow the order the sensors
     * raised them.
     */
    const lanes = settings.concurrency
    const permits = yield* Effect.makeSemaphore(lanes)
    const flusher = Effect.gen(function* () {
      while (!(closing && ready.length === 0 && current.isEmpty)) {
        yield* waitForWork
        yield* permits.take(1)
        if (ready.length === 0 && !current.isEmpty) sealCurrent()
        const buffer = ready.shift()
        if (buffer === undefined) {
          yield* permits.release(1)
          continue
        }
        const needed = buffer.alerts.length > 0 ? lanes : 1
        if (needed > 1) yield* permits.take(needed - 1)
        inFlight.push(buffer)
        yield* Effect.forkDaemon(Effect.ensuring(write(buffer), permits.release(needed)))
      }
      // Stopping: every flush started has ended.
      yield* permits.take(lanes)
    })

    const fiber = yield* Effect.forkDaemon(flusher)

    // One watchdog instead of a timer per waiting batch: a buffer older than the ack timeout
    // releases its waiters with CommitTimeout (its rows stay queued and are written later).
    // Sealed buffers count even when they carry only snapshots (sealing empties `dirty`).
    const expire = (buffer: WriteBuffer, now: number) => {
      if (now - buffer.openedAt > ingest.ackTimeoutMs) {
        buffer.done.complete(Exit.fail(new CommitTimeout({ waitedMs: ingest.ackTimeoutMs })))
      }
    }
    yield* Effect.sync(() => {
      const now = Date.now()
      for (const buffer of inFlight) expire(buffer, now)
      for (const buffer of ready) expire(buffer, now)
      if (!current.isEmpty) expire(current, now)
    }).pipe(Effect.repeat(Schedule.spaced(Duration.millis(Math.max(10, Math.floor(ingest.ackTimeoutMs / 10))))), Effect.forkScoped)
    // Drain on shutdown: everything queued is written (bounded in time), then the flusher stops.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        signal()
        // Finalizers run uninterruptibly: without `interruptible` the timeout could never cut the wait.
        const drained = yield* Fiber.await(fiber).pipe(
          Effect.interruptible,
          Effect.timeout(Duration.seconds(settings.drainTimeoutSeconds)),
          Effect.option
        )
        if (Option.isSome(drained)) yield* logInfo("writer drained", { rowsWritten: committedRows })
        if (Option.isNone(drained)) {
          yield* logError("writer did not drain in time; unwritten rows were never acknowledged", { rows: pendingRows, lastError })
          // Not waiting for the interruption: a statement stuck in PostgreSQL (a lock that never
          // comes) would hold it, and shutdown must stay bounded. Its waiters are told it did not commit.
          yield* Fiber.interruptFork(fiber)
          const failed = Exit.fail(new CommitTimeout({ waitedMs: settings.drainTimeoutSeconds * 1000 }))
          for (const buffer of [...inFlight, ...ready, current]) buffer.done.complete(failed)
        }
      })
    )

    const hasRoom = (rows: number): boolean => !closing && pendingRows + rows <= settings.queueRows

    return {
      /** Whether `rows` more fit; check before deciding, so a full writer never half-takes a batch. */
      hasRoom,
      overloaded: (): WriterOverloaded =>
        new WriterOverloaded({ queuedRows: pendingRows, capacityRows: settings.queueRows }),
      /** Appends one row (`sensor` is the id of `sensorKey`) to the open buffer; call `commitPoint` after the batch's last row. */
      push: (sensorKey: number, ts: number, value: number, quality: number, sensor: string): void => {
        if (current.isEmpty) current.openedAt = Date.now()
        current.keys.push(sensorKey)
        current.sensors.push(sensor)
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
        if (current.rows >= settings.batchSize || current.dirty.size >= SNAPSHOTS_PER_FLUSH) sealCurrent()
        signal()
        return ticket
      },
      /**
       * Queues an alert event for `alert_outbox`, committed with the rows pushed before the next
       * `commitPoint`; once committed it is handed to the listener set with `onAlertsCommitted`.
       */
      pushAlert: (notifier: string, event: SensorAlertEvent): void => {
        if (current.isEmpty) current.openedAt = Date.now()
        current.alerts.push({ n: notifier, e: event })
      },
      /** The one consumer of committed alert events (the node's alert relay). */
      onAlertsCommitted: (listener: AlertListener): void => {
        alertListener = listener
      },
      /** The one consumer of committed readings (the node's forwarder); null: none. */
      onReadingsCommitted: (listener: ReadingsListener | null): void => {
        readingsListener = listener
      },
      /**
       * Succeeds after the commit, naming the buffer rows PostgreSQL refused (see `rowCursor`);
       * fails with CommitTimeout once the batch waited the ack timeout.
       */
      awaitCommit: (ticket: CommitTicket): Effect.Effect<Flushed, CommitTimeout> => ticket.await,
      /**
       * The commit that covers everything handed to the writer so far (buffers commit in order):
       * the newest buffer holding anything, or an already completed ticket when nothing is pending.
       */
      barrier: (): CommitTicket => {
        if (!current.isEmpty) return current.done
        const last = ready.length > 0 ? ready[ready.length - 1] : inFlight[inFlight.length - 1]
        return last?.done ?? COMMITTED
      },
      /** The buffer index the next `push` gets: a caller keeps it to find its rows in `Flushed.unstored`. */
      rowCursor: (): number => current.rows,
      queuedRows: (): number => pendingRows,
      health: (): WriterHealth => {
        const oldest = inFlight.find((b) => b.outcome === null)?.startedAt ?? null
        const stalledMs = oldest === null ? 0 : Math.max(0, Date.now() - oldest)
        return { committing: stalledMs <= settings.stallMs, stalledMs, lastError }
      }
    } as const
  })
}) {}
