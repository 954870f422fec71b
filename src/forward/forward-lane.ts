/**
 * One forwarding target's lane: its bounded queue, filled by the writer's readings listener (a
 * copy, then a wake-up: nothing else on the writer's path), and one background fiber that sends
 * the queue in batches while the target is up, resting between batches so that it takes at most
 * FORWARD_MAX_LOOP_SHARE of the event loop. A target that is down or slow never reaches back:
 * its queue fills, the oldest readings make room, and every reading that does not reach the
 * target is counted as dropped. Delivery is at most once: a failed batch is not sent again.
 */
import { Deferred, Duration, Effect, Fiber, Option } from "effect"
import type { AppConfigShape } from "../config.js"
import type { CommittedReadings } from "../storage/write-buffer.js"
import { logInfo, logWarning } from "../telemetry/log.js"
import { type ForwardTarget, forwardReadings, reportForwardQueue } from "../telemetry/metrics.js"
import { ReadingQueue } from "./reading-queue.js"

/** What became of one batch: `failed` readings were not taken (or not confirmed) and are dropped. */
export interface BatchOutcome {
  readonly sent: number
  readonly failed: number
  readonly error: string | null
  /** How long the batch held the event loop (encoding and writing it; not the wait for the target). */
  readonly busyMs: number
}

/** Where a lane sends: a Redis stream, MQTT topics. */
export interface TargetDriver {
  readonly name: ForwardTarget
  /** For logs: which stream, which broker. */
  readonly where: string
  /** Connected now: a batch may be sent. */
  readonly ready: () => boolean
  /** Takes up to `max` readings from the queue and sends them; never fails (a failure is an outcome). */
  readonly send: (queue: ReadingQueue, max: number) => Effect.Effect<BatchOutcome>
}

export interface Lane {
  /** The writer's listener: copies the committed rows and wakes the sender. O(1) per reading. */
  readonly offer: (readings: CommittedReadings, unstored: ReadonlyArray<number>) => void
}

/** How long a lane rests after a batch that held the event loop `busyMs`, to stay within `share` of it. */
export const restAfter = (busyMs: number, share: number): number => (share >= 1 ? 0 : (busyMs * (1 - share)) / share)

export const makeLane = (target: TargetDriver, settings: AppConfigShape["forward"]) =>
  Effect.gen(function* () {
    const queue = new ReadingQueue(settings.queueReadings)
    const counters = forwardReadings[target.name]
    yield* Effect.acquireRelease(Effect.sync(() => reportForwardQueue(target.name, () => queue.size)), (remove) => Effect.sync(remove))
    const closed = yield* Deferred.make<void>()
    let closing = false
    let wake: (() => void) | null = null
    const signal = () => {
      const w = wake
      wake = null
      w?.()
    }
    const waitForWork = Effect.async<void>((resume) => {
      if (queue.size > 0 || closing) return resume(Effect.void)
      wake = () => resume(Effect.void)
      return Effect.sync(() => {
        wake = null
      })
    })
    /** Waits before trying a target again; cut short by shutdown. */
    const pause = Effect.sleep(Duration.millis(settings.retryMs)).pipe(Effect.raceFirst(Deferred.await(closed)))

    // An outage is logged once, and so is the recovery.
    let down = false
    const wentDown = (why: string) => {
      if (down) return Effect.void
      down = true
      return logWarning("readings forwarding target unavailable; readings wait in its queue, the oldest dropped (and counted) when it is full", {
        target: target.name,
        where: target.where,
        queueReadings: settings.queueReadings,
        error: why
      })
    }
    const cameBack = () => {
      if (!down) return Effect.void
      down = false
      return logInfo("readings forwarding target reachable again", { target: target.name, where: target.where })
    }

    /** One batch, if the target is up; false when it is down or the batch failed. */
    const round = Effect.gen(function* () {
      if (!target.ready()) {
        yield* wentDown("not connected")
        return false
      }
      const outcome = yield* target.send(queue, settings.batchReadings)
      if (outcome.sent > 0) counters.sent.inc(outcome.sent)
      if (outcome.failed > 0) counters.dropped.inc(outcome.failed)
      if (outcome.error !== null) {
        yield* wentDown(outcome.error)
        return false
      }
      yield* cameBack()
      // The lane's share of the event loop: after a batch that held it for t, it rests t(1 - s)/s, so the
      // sender takes at most FORWARD_MAX_LOOP_SHARE of the node's time. What does not fit waits in the queue,
      // and past its bound is dropped and counted: ingestion is never the one that slows down.
      const restMs = restAfter(outcome.busyMs, settings.maxLoopShare)
      if (restMs >= 1 && !closing) yield* Effect.sleep(Duration.millis(restMs)).pipe(Effect.raceFirst(Deferred.await(closed)))
      return true
    })

    const sender = Effect.gen(function* () {
      for (;;) {
        yield* waitForWork
        if (queue.size === 0) {
          if (closing) return
          continue
        }
        const ok = yield* round
        if (!ok) {
          if (closing) return
          yield* pause
        }
      }
    })
    const fiber = yield* Effect.forkDaemon(sender)

    // Stopping: what the queue holds is sent for a bounded time; what is left is dropped and counted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        signal()
        yield* Deferred.succeed(closed, undefined)
        const finished = yield* Fiber.await(fiber).pipe(Effect.interruptible, Effect.timeout(Duration.millis(settings.drainTimeoutMs)), Effect.option)
        if (Option.isNone(finished)) yield* Fiber.interruptFork(fiber)
        const left = queue.clear()
        if (left > 0) {
          counters.dropped.inc(left)
          yield* logWarning("readings forwarding stopped with readings unsent; they are dropped", { target: target.name, readings: left })
        }
      })
    )

    const lane: Lane = {
      offer: (readings, unstored) => {
        const dropped = queue.offer(readings, unstored)
        if (dropped > 0) counters.dropped.inc(dropped)
        signal()
      }
    }
    return lane
  })
