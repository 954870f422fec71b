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
import { Data, Duration, Effect, Runtime, Schedule } from "effect"
import type { BatchOutcome } from "../actors/batch-call.js"
import { hostIds } from "../actors/host-ids.js"
import { LocalHosts } from "../actors/local-hosts.js"
import { SensorUnavailable, ShardHostEntity, type SensorStateView } from "../actors/protocol.js"
import { onHostedSensor } from "../actors/hosted-sensor.js"
import type { SensorActor } from "../actors/sensor-actor.js"
import { toStateView } from "../actors/state-view.js"
import type { ShardHost } from "../actors/shard-host.js"
import { AppConfig } from "../config.js"
import type { SensorConfig } from "../domain/sensor-config.js"
import { externalId, type InternalId } from "../domain/tenancy.js"
import type { CommitTicket } from "../storage/writer.js"
import { ingestClusterMessages, ingestPath, reportPendingReadings } from "../telemetry/metrics.js"
import { IngestCall, type IngestGroup } from "./ingest-call.js"
import { makeShardLanes } from "./shard-lanes.js"

export type { IngestGroup }

/** Each group's outcome, or why none was decided. */
export type SubmitResult = ReadonlyArray<BatchOutcome> | Overloaded | EdgeTimeout

/** Whether the request's groups reached their actors (each with its outcome). */
export const reachedActors = (r: SubmitResult): r is ReadonlyArray<BatchOutcome> => Array.isArray(r)

/** INGEST_MAX_PENDING_READINGS readings are already waiting for their actors: nothing was taken. */
export class Overloaded extends Data.TaggedError("Overloaded")<{ readonly pending: number; readonly limit: number }> {}

/** Not every batch was decided within EDGE_SEND_TIMEOUT_MS (a shard without an owner, or moving). */
export class EdgeTimeout extends Data.TaggedError("EdgeTimeout")<{ readonly waitedMs: number }> {}

const OPEN_EVERY = Duration.seconds(1)

export class IngestGateway extends Effect.Service<IngestGateway>()("flowmesh/IngestGateway", {
  scoped: Effect.gen(function* () {
    const { ingest, cluster } = yield* AppConfig
    const hosts = yield* LocalHosts
    const client = yield* ShardHostEntity.client
    const runtime = yield* Effect.runtime<never>()
    const runCallback = Runtime.runCallback(runtime)
    const { lookup } = hosts
    const { shardOf, owned } = lookup
    // The host ids by the node's one shard lookup (the cluster's own hash, checked at start-up).
    const ids = hostIds(cluster.shardsPerGroup, shardOf)
    const limit = ingest.maxPendingReadings
    const deadline = Duration.millis(ingest.sendTimeoutMs)
    let pending = 0
    yield* Effect.acquireRelease(Effect.sync(() => reportPendingReadings(() => pending)), (remove) => Effect.sync(remove))

    /** The shard's open host here, when batches may go to it in-process (never with INGEST_FORCE_REMOTE). */
    const localHost = (shard: number) => (ingest.forceRemote ? undefined : lookup.hostOfShard(shard))
    const lanes = makeShardLanes({
      send: (shard, batches) => client(ids[shard]!).RecordBatches({ batches }),
      deadline,
      runCallback,
      localHost
    })
    /** The local host a new batch or call may go to directly: open here, with nothing of its shard still in its lane. */
    const directHost = (shard: number) => (lanes.has(shard) ? undefined : localHost(shard))
    const reroute = (call: IngestCall, slot: number) => lanes.enqueue(shardOf(call.groups[slot]!.sensor), call, slot)

    /** The node-wide opener: every shard this node owns gets its host open, so batches go in-process. */
    const opening = new Set<number>()
    const openOwned = Effect.sync(() => {
      for (let shard = 1; shard < ids.length; shard++) {
        if (opening.has(shard) || hosts.get(shard)?.isOpen === true) continue
        if (!owned(shard)) continue
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
    /** Hands each group to its host here or queues it in its shard's lane; returns how many went in-process. */
    const dispatch = (call: IngestCall): number => {
      const { groups, receivedAt, durable } = call
      let local = 0
      for (let i = 0; i < groups.length; i++) {
        const g = groups[i]!
        const shard = shardOf(g.sensor)
        const host = directHost(shard)
        if (host !== undefined) {
          local++
          host.record(g.sensor, g.ts, g.values, g.receivedAt ?? receivedAt, durable, call, i)
        } else lanes.enqueue(shard, call, i)
      }
      return local
    }

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
      const local = lookup.inTurn(() => dispatch(call))
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
        const host = directHost(shardOf(sensor))
        return host === undefined ? viaCluster(remote) : onHostedSensor(host, sensor, (a) => local(a, host))
      })

    const hostOf = (sensor: string) => client(ids[shardOf(sensor)]!)

    return {
      submitNow,
      limit,
      pending: (): number => pending,
      /** The sensor's live state (loaded from its snapshot if it was not resident). */
      state: (sensor: InternalId): Effect.Effect<SensorStateView, SensorUnavailable> =>
        onSensor(sensor, (a) => toStateView(externalId(a.id), a.core), hostOf(sensor).GetState({ sensor })),
      configure: (sensor: InternalId, config: typeof SensorConfig.Type): Effect.Effect<void, SensorUnavailable> =>
        onSensor(sensor, (a, host) => host.configure(a, config), hostOf(sensor).Configure({ sensor, config })),
      forget: (sensor: InternalId): Effect.Effect<void, SensorUnavailable> =>
        Effect.suspend(() => {
          const host = directHost(shardOf(sensor))
          return host === undefined ? viaCluster(hostOf(sensor).Forget({ sensor })) : Effect.sync(() => host.forget(sensor))
        })
    } as const
  })
}) {}
