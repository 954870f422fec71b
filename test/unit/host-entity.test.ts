/**
 * The ShardHost entity in-process (Entity.makeTestClient, as @effect/cluster's own tests do), over
 * LocalHosts with in-memory ports (a writer that commits at once, sensors loaded fresh) and an
 * ownership answer of the test's choosing: a message's batches are decided by the host of their
 * own shard, batches of a shard this node does not hold are answered Moved, and the sensor reads
 * and writes (state, config, forget) reach the sensor. The hosting logic itself is
 * property-tested in shard-host.test.ts; the real cluster path in the integration tests.
 */
import { Entity, ShardId, ShardingConfig } from "@effect/cluster"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { ShardHostEntityLive } from "../../src/actors/host-entity.js"
import type { HostPorts } from "../../src/actors/host-ports.js"
import { LocalHosts, makeLocalHosts } from "../../src/actors/local-hosts.js"
import { ShardHostEntity } from "../../src/actors/protocol.js"
import { defaultCoreConfig } from "../../src/domain/sensor-settings.js"
import { makeShardLookup, shardNumber } from "../../src/actors/shard-lookup.js"
import { hostIds } from "../../src/actors/host-ids.js"
import { AppConfig, appConfig } from "../../src/config.js"
import { storedInternalId } from "../../src/domain/tenancy.js"
import { doneCommit } from "../../src/storage/commit.js"
import { ALL_STORED } from "../../src/storage/write-buffer.js"
import type { CommitTicket } from "../../src/storage/writer.js"

/** makeTestClient's ShardingConfig: the default shard count. */
const SHARDS = 300
const COMMITTED: CommitTicket = doneCommit(Exit.succeed(ALL_STORED))

interface Seen {
  rows: number
}

const ports = (seen: Seen, idleMs: () => number): HostPorts<CommitTicket> => {
  let nextKey = 1
  return {
    writer: {
      hasRoom: () => true,
      push: () => {
        seen.rows++
      },
      rowCursor: () => seen.rows,
      commitPoint: () => COMMITTED,
      barrier: () => COMMITTED,
      pushAlert: () => {},
      whenCommitted: (_ticket, done) => done(true)
    },
    publishReadings: () => {},
    onTransitions: () => {},
    onActivated: () => {},
    load: (ids, done) =>
      setImmediate(() => done(new Map(ids.map((id) => [id, { id, key: nextKey++, config: {}, snapshot: null, tail: { ts: [], values: [], quality: [] } }])), null)),
    notifierOf: () => "n",
    now: Date.now,
    defer: (f) => setImmediate(f),
    snapshotIntervalMs: 30_000,
    alertUpdateIntervalMs: 10_000,
    idleMs
  }
}

/**
 * The node's real shard lookup over a cluster whose ownership the test decides (`holds(shard)`);
 * shards come from the cluster's hash, as makeTestClient's addresses do.
 */
const lookupOver = (holds: (shard: number) => boolean) => (hosts: Parameters<typeof makeShardLookup>[1]) =>
  makeShardLookup(
    {
      getShardId: (id: string) => ShardId.make("default", shardNumber(id, SHARDS)),
      hasShardId: (shardId: ShardId.ShardId) => holds(shardId.id)
    } as unknown as Parameters<typeof makeShardLookup>[0],
    hosts,
    SHARDS
  )

const config = Layer.effect(AppConfig, appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

const hostsLayer = (seen: Seen, holds: (shard: number) => boolean) =>
  Layer.scoped(
    LocalHosts,
    Effect.map(
      makeLocalHosts({
        ports: (idleMs) => ports(seen, idleMs),
        maxIdleMs: 60_000,
        maxResidentSensors: 1_000_000,
        awaitCommit: () => Effect.void,
        lookup: lookupOver(holds)
      }),
      (impl) => LocalHosts.make(impl)
    )
  )

/** A sensor id on the given shard, and one on another shard. */
const sensorOn = (shard: number, from = 0): string => {
  for (let i = from; ; i++) if (shardNumber(`s-${i}`, SHARDS) === shard) return `s-${i}`
}

const T0 = Date.now() - 60_000

const batch = (sensor: string, values: ReadonlyArray<number>, t0 = T0) => ({
  sensor: storedInternalId(sensor),
  ts: values.map((_, i) => t0 + i * 1_000),
  values,
  receivedAt: Date.now(),
  durable: true
})

const clientFor = (seen: Seen, holds: (shard: number) => boolean) =>
  Effect.gen(function* () {
    const hosts = hostsLayer(seen, holds)
    return yield* Entity.makeTestClient(ShardHostEntity, ShardHostEntityLive.pipe(Layer.provideMerge(hosts), Layer.provide(config)))
  }).pipe(Effect.provide(ShardingConfig.layer({ shardsPerGroup: SHARDS })))

/** The entity id of each shard's host, as the gateway finds them. */
const HOST_IDS = hostIds(SHARDS, (id) => shardNumber(id, SHARDS))
const hostIdOn = (shard: number): string => HOST_IDS[shard]!

describe("ShardHost entity (in-process)", () => {
  it.scopedLive("decides a message's batches in their sensors' hosts and answers each one, index-aligned", () =>
    Effect.gen(function* () {
      const seen: Seen = { rows: 0 }
      const make = yield* clientFor(seen, () => true)
      const own = 7
      const host = yield* make(hostIdOn(own))
      const a = sensorOn(own)
      const b = sensorOn(own, Number(a.slice(2)) + 1)
      const other = sensorOn(8)
      // Opening the host of shard 8 too, so that a batch of it rides along and is decided there.
      yield* (yield* make(hostIdOn(8))).Open()
      const reply = yield* host.RecordBatches({ batches: [batch(a, [1, 2, 3]), batch(b, [5]), batch(other, [9, 9]), batch(a, [4])] })
      expect(reply.answers.map((x) => ("codes" in x ? x.codes.length : x.failure))).toEqual([3, 1, 2, 1])
      // The last batch of `a` repeats the first one's timestamps: the sensor decided them in order.
      expect(reply.answers[3]).toEqual({ codes: [-3] })
      expect(seen.rows).toBe(6)
      expect(new Set(reply.owned)).toEqual(new Set([own, 8]))
      const state = yield* host.GetState({ sensor: a })
      expect(state.counters).toMatchObject({ accepted: 3 })
    })
  )

  it.scopedLive("answers Moved for a batch of a shard whose host is open here but whose lock the node no longer holds, and decides the rest", () =>
    Effect.gen(function* () {
      const seen: Seen = { rows: 0 }
      const make = yield* clientFor(seen, (shard) => shard !== 9)
      const host = yield* make(hostIdOn(7))
      // Shard 9's host is open here, but the node no longer holds the shard (its lock went elsewhere).
      yield* (yield* make(hostIdOn(9))).Open()
      const reply = yield* host.RecordBatches({ batches: [batch(sensorOn(9), [1]), batch(sensorOn(7), [1, 2])] })
      expect(reply.answers[0]).toMatchObject({ failure: "Moved" })
      expect(reply.answers[1]).toEqual({ codes: [0, 0] })
    })
  )

  it.scopedLive("configures and forgets a sensor through its host", () =>
    Effect.gen(function* () {
      const seen: Seen = { rows: 0 }
      const make = yield* clientFor(seen, () => true)
      const host = yield* make(hostIdOn(7))
      const sensor = sensorOn(7)
      yield* host.RecordBatches({ batches: [batch(sensor, [10])] })
      expect((yield* host.GetState({ sensor })).counters.accepted).toBe(1)
      yield* host.Configure({ sensor, config: { ...defaultCoreConfig, hardMax: 5 } })
      const reply = yield* host.RecordBatches({ batches: [batch(sensor, [50], T0 + 30_000)] })
      expect(reply.answers[0]).toMatchObject({ codes: [expect.any(Number)] })
      expect((reply.answers[0] as { codes: ReadonlyArray<number> }).codes[0]).toBeLessThan(0)
      yield* host.Forget({ sensor })
      const after = yield* host.GetState({ sensor })
      expect(after.counters).toMatchObject({ accepted: 0 })
    })
  )
})
