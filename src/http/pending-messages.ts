/**
 * A node-wide bound on sensor messages the edge has sent and not yet had answered. Past it, new
 * requests and frames are refused at once (503 / an `unavailable` error frame with a retry time)
 * instead of queueing in the cluster: an unbounded backlog of actor messages grows the heap until
 * garbage collection starves the event loop, the cluster's shard-lock refresh times out and the
 * node drops every shard (measured: 1,000 fresh sensors at 5,000 frames/s, one message per frame).
 */
import { Effect } from "effect"
import { AppConfig } from "../config.js"
import { edgePendingMessages } from "../telemetry/metrics.js"

export class PendingMessages extends Effect.Service<PendingMessages>()("flowmesh/PendingMessages", {
  effect: Effect.map(AppConfig, ({ ingest }) => {
    let pending = 0
    const limit = ingest.maxPendingMessages
    return {
      limit,
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
