/**
 * The gateway's cluster path: one lane per shard with work that cannot go to a host in-process.
 * A lane sends one cluster message to the shard's host entity carrying every batch queued for the
 * shard, at most one in flight per shard, so each sensor's batches keep their order across path
 * switches (unknown → opening → open → moved): a lane with work in flight keeps the shard's new
 * batches queued behind it, even when the host opens here meanwhile, and hands them to the host
 * in-process once the lane is empty.
 */
import { type Duration, Effect, Exit } from "effect"
import type { BatchOutcome } from "../actors/batch-call.js"
import type { BatchAnswer, RecordBatchesReply, SensorBatch } from "../actors/protocol.js"
import type { ShardHost } from "../actors/shard-host.js"
import type { CommitTicket } from "../storage/writer.js"
import { logWarning } from "../telemetry/log.js"
import { ingestClusterMessages, ingestPath } from "../telemetry/metrics.js"
import type { IngestCall } from "./ingest-call.js"

/** A host answered "moved" (it was closing): try again after this, through the cluster. */
const MOVED_RETRY_MS = 50

interface Queued {
  readonly call: IngestCall
  readonly slot: number
}

/** A shard's batches waiting for, or in, the cluster message to its host. */
interface Lane {
  busy: boolean
  queue: Array<Queued>
}

interface Part {
  readonly shard: number
  readonly lane: Lane
  readonly items: ReadonlyArray<Queued>
}

export const outcomeOf = (a: BatchAnswer | undefined): BatchOutcome => {
  if (a === undefined) return { _tag: "Unreachable", message: "the shard's host answered fewer batches than it was sent" }
  if ("codes" in a) return { _tag: "Decided", codes: Int32Array.from(a.codes) }
  switch (a.failure) {
    case "Busy":
      return { _tag: "Busy" }
    case "Unavailable":
      return { _tag: "Unavailable", message: a.message }
    case "NotDurableYet":
      return { _tag: "NotDurableYet", waitedMs: a.waitedMs ?? 0 }
    case "Moved":
      return { _tag: "Moved" }
  }
}

export interface ShardLanesDeps {
  /** Sends batches to the host entity of `shard` (the message's own shard; the rest ride along). */
  readonly send: (shard: number, batches: ReadonlyArray<SensorBatch>) => Effect.Effect<RecordBatchesReply, unknown>
  readonly deadline: Duration.Duration
  readonly runCallback: <A, E>(effect: Effect.Effect<A, E>, options?: { readonly onExit?: (exit: Exit.Exit<A, E>) => void }) => unknown
  /** The shard's open host on this node, when batches may go to it in-process. */
  readonly localHost: (shard: number) => ShardHost<CommitTicket> | undefined
}

export interface ShardLanes {
  /** Queues a group behind the shard's earlier ones, and sends or hands them on when the lane is free. */
  readonly enqueue: (shard: number, call: IngestCall, slot: number) => void
  /** Whether the shard has batches queued or in flight: new ones must queue behind them. */
  readonly has: (shard: number) => boolean
}

export const makeShardLanes = ({ send: sendTo, deadline, runCallback, localHost }: ShardLanesDeps): ShardLanes => {
  const lanes = new Map<number, Lane>()
  /**
   * Ownership hints: the node each shard was last seen on (replies name their node and the shards
   * it holds). Lanes whose shards are on one node go in one message; a wrong hint costs a Moved
   * answer, after which the batch goes to its own shard's host.
   */
  const hints = new Map<number, string>()
  /** Lanes with batches to send through the cluster, sent together once per event-loop turn. */
  const ready = new Set<number>()
  let sendScheduled = false

  const enqueue = (shard: number, call: IngestCall, slot: number) => {
    let lane = lanes.get(shard)
    if (lane === undefined) {
      lane = { busy: false, queue: [] }
      lanes.set(shard, lane)
    }
    lane.queue.push({ call, slot })
    if (!lane.busy) pump(shard, lane)
  }

  /** Hands the lane's batches to the shard's host here once it is open (in order); otherwise marks the lane for sending. */
  const pump = (shard: number, lane: Lane): void => {
    lane.queue = lane.queue.filter((q) => !q.call.abandoned)
    if (lane.queue.length === 0) {
      lanes.delete(shard)
      return
    }
    const host = localHost(shard)
    if (host !== undefined) {
      const items = lane.queue
      lane.queue = []
      lanes.delete(shard)
      ingestPath.local.inc(items.length)
      for (const { call, slot } of items) {
        const g = call.groups[slot]!
        host.record(g.sensor, g.ts, g.values, call.receivedAtOf(slot), call.durable, call, slot)
      }
      return
    }
    ready.add(shard)
    if (!sendScheduled) {
      sendScheduled = true
      setImmediate(sendReady)
    }
  }

  /** One message per node the ready lanes' shards are hinted on (one per shard where there is no hint). */
  const sendReady = () => {
    sendScheduled = false
    const byNode = new Map<string, Array<number>>()
    for (const shard of ready) {
      const key = hints.get(shard) ?? `shard:${shard}`
      const group = byNode.get(key)
      if (group === undefined) byNode.set(key, [shard])
      else group.push(shard)
    }
    ready.clear()
    for (const shards of byNode.values()) send(shards)
  }

  const send = (shards: ReadonlyArray<number>): void => {
    const parts: Array<Part> = []
    for (const shard of shards) {
      const lane = lanes.get(shard)
      if (lane === undefined || lane.busy) continue
      const items = lane.queue.filter((q) => !q.call.abandoned)
      lane.queue = []
      if (items.length === 0) {
        lanes.delete(shard)
        continue
      }
      lane.busy = true
      parts.push({ shard, lane, items })
    }
    if (parts.length === 0) return
    const batches = parts.flatMap((p) => p.items.map((q) => q.call.batchOf(q.slot)))
    ingestPath.remote.inc(batches.length)
    ingestClusterMessages.batches.inc()
    runCallback(Effect.timeout(sendTo(parts[0]!.shard, batches), deadline), { onExit: (exit) => answered(parts, exit) })
  }

  const answered = (parts: ReadonlyArray<Part>, exit: Exit.Exit<RecordBatchesReply, unknown>) => {
    if (Exit.isSuccess(exit)) for (const shard of exit.value.owned) hints.set(shard, exit.value.node)
    else runCallback(logWarning("a message to a shard's host failed; its requests are answered as unavailable", { shards: parts.map((p) => p.shard), cause: String(exit.cause) }))
    let j = 0
    for (const { shard, lane, items } of parts) {
      const moved: Array<Queued> = []
      for (const q of items) {
        const outcome: BatchOutcome = Exit.isSuccess(exit)
          ? outcomeOf(exit.value.answers[j])
          : { _tag: "Unreachable", message: Exit.isInterrupted(exit) ? "the shard was released while the message was in flight" : "the message to the shard's owner failed" }
        j++
        if (outcome._tag === "Moved") moved.push(q)
        else q.call.resolve(q.slot, outcome)
      }
      if (moved.length > 0 || Exit.isFailure(exit)) hints.delete(shard)
      lane.queue = moved.concat(lane.queue)
      const resume = () => {
        lane.busy = false
        pump(shard, lane)
      }
      if (moved.length > 0) setTimeout(resume, MOVED_RETRY_MS)
      else resume()
    }
  }

  return { enqueue, has: (shard) => lanes.has(shard) }
}
