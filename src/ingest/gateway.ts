/**
 * The ingest gateway: the one path from every edge (HTTP, WebSocket devices, later MQTT and
 * imports) to the sensor actors. A request's readings arrive grouped by sensor; each group goes to
 * its shard's host:
 * - in-process and synchronously when this node owns the shard and its host is open (no cluster
 *   message, no fiber per sensor): the normal case on a node that owns its shards;
 * - otherwise through the shard's lane: one cluster message to the shard's host entity carrying
 *   every batch queued for that shard, at most one in flight per shard, so each sensor's batches
 *   keep their order across path switches (unknown → opening → open → moved): a lane with work in
 *   flight keeps the shard's new batches queued behind it, even when the host opens meanwhile.
 *
 * One deadline (EDGE_SEND_TIMEOUT_MS) and one commit wait per request, and a bound that counts
 * readings (INGEST_MAX_PENDING_READINGS), so a request of 100 sensors costs what one of 1 sensor
 * with 100 readings costs.
 */
import { EntityId, type ShardId, Sharding } from "@effect/cluster"
import { Data, Duration, Effect, Exit, Runtime, Schedule } from "effect"
import { BatchCall, type BatchOutcome } from "../actors/batch-call.js"
import { hostIds } from "../actors/host-ids.js"
import { LocalHosts } from "../actors/local-hosts.js"
import { type BatchAnswer, type SensorBatch, SensorUnavailable, ShardHostEntity, type SensorStateView } from "../actors/protocol.js"
import { onHostedSensor } from "../actors/hosted-sensor.js"
import { makeShardLookup } from "../actors/shard-lookup.js"
import type { SensorActor } from "../actors/sensor-actor.js"
import { toStateView } from "../actors/state-view.js"
import type { HostFailure, ShardHost } from "../actors/shard-host.js"
import { AppConfig } from "../config.js"
import type { SensorConfig } from "../domain/sensor-config.js"
import { externalId } from "../domain/tenancy.js"
import type { CommitTicket } from "../storage/writer.js"
import { logWarning } from "../telemetry/log.js"
import { ingestClusterMessages, ingestPath, reportPendingReadings } from "../telemetry/metrics.js"

/** One sensor's readings of a request, in arrival order (`sensor` is the node-internal id). */
export interface IngestGroup {
  readonly sensor: string
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  /** When the edge received them, if not the request's time (coalesced WebSocket frames). */
  readonly receivedAt?: number
}

/** Each group's outcome, or why none was decided. */
export type SubmitResult = ReadonlyArray<BatchOutcome> | Overloaded | EdgeTimeout

/** Whether the request's groups reached their actors (each with its outcome). */
export const reachedActors = (r: SubmitResult): r is ReadonlyArray<BatchOutcome> => Array.isArray(r)

/** INGEST_MAX_PENDING_READINGS readings are already waiting for their actors: nothing was taken. */
export class Overloaded extends Data.TaggedError("Overloaded")<{ readonly pending: number; readonly limit: number }> {}

/** Not every batch was decided within EDGE_SEND_TIMEOUT_MS (a shard without an owner, or moving). */
export class EdgeTimeout extends Data.TaggedError("EdgeTimeout")<{ readonly waitedMs: number }> {}

const SHARD_GROUP = "default"
/** A host answered "moved" (it was closing): try again after this, through the cluster. */
const MOVED_RETRY_MS = 50
const OPEN_EVERY = Duration.seconds(1)

/**
 * A request's groups; a group whose host turned out closed goes back through the shard's lane. The
 * groups are handed to local hosts as they are; only a group sent through the cluster becomes a
 * `SensorBatch` message item.
 */
class IngestCall extends BatchCall {
  abandoned = false
  constructor(
    readonly groups: ReadonlyArray<IngestGroup>,
    readonly receivedAt: number,
    readonly durable: boolean,
    private readonly reroute: (call: IngestCall, slot: number) => void,
    readings: number
  ) {
    super(groups.length, readings)
  }
  receivedAtOf(slot: number): number {
    return this.groups[slot]!.receivedAt ?? this.receivedAt
  }
  batchOf(slot: number): SensorBatch {
    const g = this.groups[slot]!
    return { sensor: g.sensor, ts: g.ts, values: g.values, receivedAt: this.receivedAtOf(slot), durable: this.durable }
  }
  override readonly failed = (slot: number, failure: HostFailure): void => {
    if (failure._tag === "Moved" && !this.abandoned) this.reroute(this, slot)
    else this.resolve(slot, failure)
  }
}

interface Queued {
  readonly call: IngestCall
  readonly slot: number
}

/** A shard's batches waiting for, or in, the cluster message to its host. */
interface Lane {
  busy: boolean
  queue: Array<Queued>
}

const outcomeOf = (a: BatchAnswer | undefined): BatchOutcome => {
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

export class IngestGateway extends Effect.Service<IngestGateway>()("flowmesh/IngestGateway", {
  scoped: Effect.gen(function* () {
    const { ingest, cluster } = yield* AppConfig
    const sharding = yield* Sharding.Sharding
    const hosts = yield* LocalHosts
    const client = yield* ShardHostEntity.client
    const runtime = yield* Effect.runtime<never>()
    const runCallback = Runtime.runCallback(runtime)
    const ids = hostIds(cluster.shardsPerGroup, (id) => sharding.getShardId(EntityId.make(id), SHARD_GROUP).id)
    const lanes = new Map<number, Lane>()
    const limit = ingest.maxPendingReadings
    const deadline = Duration.millis(ingest.sendTimeoutMs)
    let pending = 0
    yield* Effect.acquireRelease(Effect.sync(() => reportPendingReadings(() => pending)), (remove) => Effect.sync(remove))

    const lookup = makeShardLookup(sharding, hosts)
    const { shardOf, owned } = lookup

    /** The open local host of the shard, when batches may go to it directly. */
    const localHost = (sensor: string) => (ingest.forceRemote ? undefined : lookup.localHost(sensor))

    /** The local host a new batch or call may go to directly: open here, with nothing of its shard still in its lane. */
    const directHost = (sensor: string) => directHostOf(shardOf(sensor))
    const directHostOf = (shardId: ShardId.ShardId) => (ingest.forceRemote || lanes.has(shardId.id) ? undefined : lookup.hostOfShard(shardId))

    const enqueue = (shard: number, item: Queued, front = false) => {
      let lane = lanes.get(shard)
      if (lane === undefined) {
        lane = { busy: false, queue: [] }
        lanes.set(shard, lane)
      }
      if (front) lane.queue.unshift(item)
      else lane.queue.push(item)
      if (!lane.busy) pump(shard, lane)
    }

    const reroute = (call: IngestCall, slot: number) => enqueue(shardOf(call.groups[slot]!.sensor).id, { call, slot })

    /**
     * Ownership hints: the node each shard was last seen on (replies name their node and the shards
     * it holds). Lanes whose shards are on one node go in one message; a wrong hint costs a Moved
     * answer, after which the batch goes to its own shard's host.
     */
    const hints = new Map<number, string>()
    /** Lanes with batches to send through the cluster, sent together once per event-loop turn. */
    const ready = new Set<number>()
    let sendScheduled = false

    /** Hands the lane's batches to the shard's host here once it is open (in order); otherwise marks the lane for sending. */
    const pump = (shard: number, lane: Lane): void => {
      lane.queue = lane.queue.filter((q) => !q.call.abandoned)
      if (lane.queue.length === 0) {
        lanes.delete(shard)
        return
      }
      const host = localHost(lane.queue[0]!.call.groups[lane.queue[0]!.slot]!.sensor)
      if (host !== undefined) {
        const items = lane.queue
        lane.queue = []
        lanes.delete(shard)
        for (const { call, slot } of items) {
          const g = call.groups[slot]!
          ingestPath.local.inc()
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

    interface Part {
      readonly shard: number
      readonly lane: Lane
      readonly items: ReadonlyArray<Queued>
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
      // The message goes to the first lane's shard host; the rest ride along on the hint.
      const message = client(ids[parts[0]!.shard]!).RecordBatches({ batches })
      runCallback(Effect.timeout(message, deadline), {
        onExit: (exit) => {
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
            if (moved.length > 0) {
              setTimeout(() => {
                lane.busy = false
                pump(shard, lane)
              }, MOVED_RETRY_MS)
            } else {
              lane.busy = false
              pump(shard, lane)
            }
          }
        }
      })
    }

    /** The node-wide opener: every shard this node owns gets its host open, so batches go in-process. */
    const opening = new Set<number>()
    const openOwned = Effect.sync(() => {
      for (let shard = 1; shard < ids.length; shard++) {
        if (opening.has(shard) || hosts.get(shard)?.isOpen === true) continue
        if (!owned(shardOf(ids[shard]!))) continue
        opening.add(shard)
        runCallback(Effect.timeout(client(ids[shard]!).Open(), deadline), { onExit: () => opening.delete(shard) })
      }
    })
    yield* Effect.forkScoped(Effect.repeat(openOwned, Schedule.spaced(OPEN_EVERY)))

    /**
     * Hands every group to its sensor's actor and calls `done` once all are decided (and, for
     * durable ones, committed) with each group's outcome; or at once with Overloaded when the node
     * is at its bound (nothing taken), or with EdgeTimeout once EDGE_SEND_TIMEOUT_MS passed with a
     * batch undecided. No fiber: the HTTP ingest lane calls this directly.
     */
    const submitNow = (groups: ReadonlyArray<IngestGroup>, receivedAt: number, durable: boolean, done: (result: SubmitResult) => void): void => {
      let n = 0
      for (const g of groups) n += g.ts.length
      if (pending + n > limit && pending > 0) {
        done(new Overloaded({ pending, limit }))
        return
      }
      pending += n
      const finish = (result: SubmitResult) => {
        pending -= n
        done(result)
      }
      const call = new IngestCall(groups, receivedAt, durable, reroute, n)
      let local = 0
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i]!
        const shardId = shardOf(g.sensor)
        const host = directHostOf(shardId)
        if (host !== undefined) {
          local++
          host.record(g.sensor, g.ts, g.values, g.receivedAt ?? receivedAt, durable, call, i)
        } else enqueue(shardId.id, { call, slot: i })
      }
      if (local > 0) ingestPath.local.inc(local)
      let timer: ReturnType<typeof setTimeout> | undefined
      let timedOut = false
      call.onSettled(() => {
        if (timedOut) return
        if (timer !== undefined) clearTimeout(timer)
        call.whenCommitted(() => finish(call.outcomes.map((o): BatchOutcome => o ?? { _tag: "Unreachable", message: "no answer" })))
      })
      if (call.isSettled) return
      timer = setTimeout(() => {
        if (call.isSettled) return
        timedOut = true
        call.abandoned = true
        finish(new EdgeTimeout({ waitedMs: ingest.sendTimeoutMs }))
      }, ingest.sendTimeoutMs)
    }

    /** A message to a sensor's host: every failure on the way is the sensor being unavailable for now. */
    const viaCluster = <A, E extends { readonly _tag: string }>(remote: Effect.Effect<A, E>): Effect.Effect<A, SensorUnavailable> => {
      ingestClusterMessages.read.inc()
      return remote.pipe(
        Effect.timeoutFail({ duration: deadline, onTimeout: () => new SensorUnavailable({ message: "the sensor's host did not answer in time; its shard may be moving" }) }),
        Effect.catchAll((e) => Effect.fail(e instanceof SensorUnavailable ? e : new SensorUnavailable({ message: `the sensor's host could not be reached (${e._tag})` }))),
        Effect.catchAllDefect(() => Effect.fail(new SensorUnavailable({ message: "the sensor's owner could not be reached" })))
      )
    }

    /** Runs `local` on the sensor in its host here, or asks its host through the cluster. */
    const onSensor = <A, E extends { readonly _tag: string }>(
      sensor: string,
      local: (actor: SensorActor, host: ShardHost<CommitTicket>) => A,
      remote: Effect.Effect<A, E>
    ): Effect.Effect<A, SensorUnavailable> =>
      Effect.suspend(() => {
        const host = directHost(sensor)
        return host === undefined ? viaCluster(remote) : onHostedSensor(host, sensor, (a) => local(a, host))
      })

    const hostOf = (sensor: string) => client(ids[shardOf(sensor).id]!)

    return {
      submitNow,
      limit,
      pending: (): number => pending,
      /** The sensor's live state (loaded from its snapshot if it was not resident). */
      state: (sensor: string): Effect.Effect<SensorStateView, SensorUnavailable> =>
        onSensor(sensor, (a) => toStateView(externalId(a.id), a.core), hostOf(sensor).GetState({ sensor })),
      configure: (sensor: string, config: typeof SensorConfig.Type): Effect.Effect<void, SensorUnavailable> =>
        onSensor(sensor, (a, host) => host.configure(a, config), hostOf(sensor).Configure({ sensor, config })),
      forget: (sensor: string): Effect.Effect<void, SensorUnavailable> =>
        Effect.suspend(() => {
          const host = directHost(sensor)
          return host === undefined ? viaCluster(hostOf(sensor).Forget({ sensor })) : Effect.sync(() => host.forget(sensor))
        })
    } as const
  })
}) {}
