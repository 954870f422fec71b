/**
 * The shard hosts open on this node, by shard id, and the ports they use (the node's writer, live
 * feed and sensor loading). The ingest gateway finds a local shard's host here and calls it
 * in-process; the host entity opens and closes them. One node-wide sweep (every SWEEP_MS) writes
 * trailing snapshots and evicts idle sensors for all of them: no timer per sensor.
 */
import { randomUUID } from "node:crypto"
import { Sharding } from "@effect/cluster"
import { Effect, Exit, Runtime, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { LiveFeed } from "../live/live-feed.js"
import { SensorActivation } from "../storage/sensor-activation.js"
import { type CommitTicket, Writer } from "../storage/writer.js"
import { logDebug, logInfo, logWarning } from "../telemetry/log.js"
import { hostingGauges, sensorTransitions } from "../telemetry/metrics.js"
import { notifierOf } from "./notifier-protocol.js"
import { ShardHost } from "./shard-host.js"
import { makeShardLookup, type ShardLookup } from "./shard-lookup.js"
import type { HostPorts } from "./host-ports.js"

const SWEEP_MS = 1_000
const SWEEP_SLICE_MS = 10
const MIN_IDLE_MS = 1_000

export class LocalHosts extends Effect.Service<LocalHosts>()("flowmesh/LocalHosts", {
  scoped: Effect.gen(function* () {
    const writer = yield* Writer
    const live = yield* LiveFeed
    const activation = yield* SensorActivation
    const { entity, alerts, log, cluster } = yield* AppConfig
    const sharding = yield* Sharding.Sharding
    const debugOn = log.level === "debug"
    const infoOn = debugOn || log.level === "info"
    const runtime = yield* Effect.runtime<never>()
    const runCallback = Runtime.runCallback(runtime)
    const runFork = Runtime.runFork(runtime)

    type Load = Parameters<HostPorts<CommitTicket>["load"]>
    let loads: Array<{ readonly ids: Load[0]; readonly done: Load[1] }> = []
    const loadAll = () => {
      const batch = loads
      loads = []
      const ids = batch.flatMap((l) => l.ids)
      runCallback(activation.activateAll(ids).pipe(Effect.retry({ times: 2 })), {
        onExit: (exit) => {
          for (const { done } of batch) {
            if (Exit.isSuccess(exit)) done(exit.value, null)
            else done(new Map(), "the sensor's state could not be loaded from PostgreSQL")
          }
        }
      })
    }

    const ports = (idleMs: () => number): HostPorts<CommitTicket> => ({
      writer: {
        hasRoom: writer.hasRoom,
        push: writer.push,
        rowCursor: writer.rowCursor,
        commitPoint: writer.commitPoint,
        barrier: writer.barrier,
        pushAlert: writer.pushAlert,
        whenCommitted: (ticket, done) => ticket.whenDone((exit) => done(Exit.isSuccess(exit)))
      },
      publishReadings: live.publishReadings,
      onTransitions: (sensor, transitions) => {
        for (const t of transitions) {
          sensorTransitions.labels(t.to).inc()
          live.publishState({ sensor, from: t.from, to: t.to, at: t.at, reason: t.reason })
          // A sensor's first status (out of `unknown`) is not news: with a million sensors reporting
          // for the first time it was a log line (and a fiber) per sensor, 18 % of the node's CPU.
          // It is logged at debug; every later change at info. Nothing is forked for a level that is off.
          const first = t.from === "unknown"
          if (first ? !debugOn : !infoOn) continue
          runFork((first ? logDebug : logInfo)("sensor status changed", { sensor, from: t.from, to: t.to, reason: t.reason }))
        }
      },
      onActivated: ({ actor, unreadable, replayed }) => {
        if (unreadable) runFork(logWarning("unreadable snapshot; sensor starts afresh", { sensor: actor.id }))
        if (replayed > 0) runFork(logInfo("replayed readings stored after the snapshot", { sensor: actor.id, readings: replayed }))
      },
      load: (ids, done) => {
        // Every host's first contacts of this turn go into one statement (a request of 100
        // sensors touches ~100 shards): activation is batched per node, not per host.
        if (loads.push({ ids, done }) === 1) setImmediate(loadAll)
      },
      notifierOf,
      now: Date.now,
      defer: (f) => setImmediate(f),
      snapshotIntervalMs: entity.snapshotIntervalMs,
      alertUpdateIntervalMs: alerts.updateIntervalMs,
      idleMs
    })

    return yield* makeLocalHosts({
      ports,
      maxIdleMs: entity.maxIdleMs,
      maxResidentSensors: entity.maxResidentSensors,
      awaitCommit: writer.awaitCommit,
      lookup: (hosts) => makeShardLookup(sharding, hosts, cluster.shardsPerGroup)
    })
  })
}) {}

export interface LocalHostsOptions {
  /** The hosts' ports; `idleMs` is the idle time the sweep evicts after now (it adapts to MAX_RESIDENT_SENSORS). */
  readonly ports: (idleMs: () => number) => HostPorts<CommitTicket>
  readonly maxIdleMs: number
  readonly maxResidentSensors: number
  /** Waits for a ticket's commit (a closing host's last snapshots). */
  readonly awaitCommit: (ticket: CommitTicket) => Effect.Effect<unknown, unknown>
  /** The node's shard lookup over these hosts (its ownership answers come from the cluster). */
  readonly lookup: (hosts: { readonly get: (shard: number) => ShardHost<CommitTicket> | undefined; readonly openShards: () => Iterable<number> }) => ShardLookup
}

/** The hosts of this node over the given ports, with the node-wide sweep (forked in the caller's scope). */
export const makeLocalHosts = Effect.fn("LocalHosts.make")(function* (options: LocalHostsOptions) {
  const hosts = new Map<number, ShardHost<CommitTicket>>()
  const lookup = options.lookup({ get: (shard) => hosts.get(shard), openShards: () => hosts.keys() })
  /**
   * Memory follows the active sensors, bounded: over MAX_RESIDENT_SENSORS the idle time halves
   * every sweep (down to one second) until enough idle sensors have left; under 80 % of it, it
   * doubles back towards ENTITY_MAX_IDLE_MS.
   */
  let idleMs = options.maxIdleMs
  const ports = options.ports(() => idleMs)
  const adaptIdle = () => {
    const n = resident()
    if (n > options.maxResidentSensors) idleMs = Math.max(MIN_IDLE_MS, Math.floor(idleMs / 2))
    else if (n < options.maxResidentSensors * 0.8) idleMs = Math.min(options.maxIdleMs, idleMs * 2)
  }
  /**
   * The hosts are swept in slices of at most SWEEP_SLICE_MS, yielding to the event loop between
   * them: an eviction wave (a million distinct sensors passing through) snapshots tens of
   * thousands of sensors, seconds of work that in one piece stalled the node past its shard-lock
   * refresh. A sweep still in slices when the next is due is not started again.
   */
  let sweeping = false
  const sweep = Effect.sync(() => {
    if (sweeping) return
    sweeping = true
    adaptIdle()
    const queue = Array.from(hosts.values())
    let next = 0
    const slice = () => {
      const until = performance.now() + SWEEP_SLICE_MS
      while (next < queue.length) {
        queue[next++]!.sweep()
        if (performance.now() > until) break
      }
      if (next < queue.length) setImmediate(slice)
      else sweeping = false
    }
    slice()
  })
  const resident = (): number => {
    let n = 0
    for (const host of hosts.values()) n += host.size
    return n
  }
  hostingGauges.residentSensors = resident
  hostingGauges.openHosts = () => hosts.size
  yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(SWEEP_MS)))

  return {
    /** This node's name in ownership hints (a fresh one per start: a restarted node holds nothing yet). */
    nodeId: randomUUID(),
    /** The open host of this shard on this node, if any. */
    get: (shard: number): ShardHost<CommitTicket> | undefined => hosts.get(shard),
    /** The shards whose hosts are open on this node. */
    openShards: (): Iterable<number> => hosts.keys(),
    open: (shard: number): ShardHost<CommitTicket> => {
      const existing = hosts.get(shard)
      if (existing?.isOpen) return existing
      const host = new ShardHost(shard, ports)
      hosts.set(shard, host)
      return host
    },
    /** Stops using the host, hands its dirty snapshots to the writer and waits for their commit. */
    close: (host: ShardHost<CommitTicket>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (hosts.get(host.shard) === host) hosts.delete(host.shard)
        return options.awaitCommit(host.close()).pipe(Effect.ignore)
      }),
    resident,
    /** Which shard a sensor is on and whether its host here may decide it (see shard-lookup.ts). */
    lookup
  } as const
})
