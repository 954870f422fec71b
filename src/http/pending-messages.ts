/**
 * A node-wide bound on sensor messages the edge has sent and not yet had answered. Past it, new
 * requests and frames are refused at once (503 / an `unavailable` error frame with a retry time)
 * instead of queueing in the cluster: an unbounded backlog of actor messages grows the heap until
 * garbage collection starves the event loop, the cluster's shard-lock refresh times out and the
 * node drops every shard (measured: 1,000 fresh sensors at 5,000 frames/s, one message per frame).
 * The default, 1,024, is what kept the shard locks through 20,000 frames/s of one reading each for
 * 1,000 fresh sensors with coalescing off; 4,096 still lost them for ~8 s in that test.
 *
 * And a bound in time: a message whose shard is not held anywhere (the node lost its shard locks,
 * or a shard is moving) is retried by the cluster every 100 ms for as long as its sender waits.
 * Thousands of such senders kept a node busy constructing retry errors so that it never got its
 * shards back (measured: 1,000 devices x 32 frames in flight, per-frame mode, stuck for minutes).
 * Past `EDGE_SEND_TIMEOUT_MS` the edge gives up (503 / an `unavailable` frame); the client retries,
 * and readings that were taken meanwhile are answered `duplicate`.
 */
import { Cause, Data, Duration, Effect } from "effect"
import { AppConfig } from "../config.js"
import { logWarning } from "../telemetry/log.js"
import { edgePendingMessages } from "../telemetry/metrics.js"

/** The sensor did not answer within EDGE_SEND_TIMEOUT_MS. */
export class EdgeTimeout extends Data.TaggedError("EdgeTimeout")<{ readonly waitedMs: number }> {}

/**
 * The message died on its way to the sensor's owner: a runner killed mid-request resets its socket
 * (the cluster client surfaces that as a defect), or the owner let go of the shard while the
 * message was in flight (its reply is an interruption). The caller answers 503 and retries.
 */
export class OwnerUnreachable extends Data.TaggedError("OwnerUnreachable")<{ readonly message: string }> {}

/**
 * Typed failures pass through; a defect or an interruption of the message (not of the caller,
 * which no handler can catch) becomes OwnerUnreachable instead of a 500 or a bare 503.
 */
const unreachable = <E>(cause: Cause.Cause<E>): Effect.Effect<never, E | OwnerUnreachable> => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return Effect.fail(failure.value)
  const message = Cause.isInterruptedOnly(cause)
    ? "the sensor's shard was released while the message was in flight"
    : (Cause.pretty(cause).split("\n")[0] ?? "unknown")
  return Effect.zipRight(
    logWarning("a sensor message failed on its way to its owner; answered as unavailable", { error: message }),
    Effect.fail(new OwnerUnreachable({ message }))
  )
}

export class PendingMessages extends Effect.Service<PendingMessages>()("flowmesh/PendingMessages", {
  effect: Effect.map(AppConfig, ({ ingest }) => {
    let pending = 0
    const limit = ingest.maxPendingMessages
    const waitedMs = ingest.sendTimeoutMs
    const deadline = Duration.millis(waitedMs)
    const onTimeout = () => new EdgeTimeout({ waitedMs })
    return {
      limit,
      /**
       * Gives up on a sensor message after EDGE_SEND_TIMEOUT_MS (interrupting the cluster's
       * retries); a message lost on the way (a defect of the transport) fails as OwnerUnreachable.
       */
      withDeadline: <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | EdgeTimeout | OwnerUnreachable, R> =>
        Effect.timeoutFail(effect, { duration: deadline, onTimeout }).pipe(Effect.catchAllCause(unreachable)),
      /** Takes `n` slots if they all fit; false (nothing taken) when the node is at its bound. */
      tryAcquire: (n: number): boolean => {
        if (pending + n > limit && pending > 0) return false
        pending += n
        edgePendingMessages.set(pending)
        return true
      },
      release: (n: number): void => {
        pending -= n
        edgePendingMessages.set(pending)
      },
      pending: (): number => pending
    } as const
  })
}) {}
