import { EntityId, MessageStorage, RunnerHealth, Runners, RunnerStorage, Sharding, ShardingConfig } from "@effect/cluster"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { makeShardLookup, shardNumber } from "../../src/actors/shard-lookup.js"

/** An in-memory cluster (as @effect/cluster's TestRunner) with the given shard count. */
const clusterWith = (shardsPerGroup: number) =>
  Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(MessageStorage.layerMemory),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(ShardingConfig.layer({ shardsPerGroup }))
  )

const noHosts = { get: () => undefined, openShards: () => [] }

describe("shard lookup", () => {
  for (const shards of [1, 7, 300, 4096]) {
    it.scoped(`puts every sensor on the shard the cluster itself names (${shards} shards)`, () =>
      Effect.gen(function* () {
        const sharding = yield* Sharding.Sharding
        const lookup = makeShardLookup(sharding, noHosts, shards)
        fc.assert(
          fc.property(fc.string({ unit: "binary", maxLength: 200 }), (id) => {
            const expected = sharding.getShardId(EntityId.make(id), "default").id
            expect(shardNumber(id, shards)).toBe(expected)
            expect(lookup.shardOf(id)).toBe(expected)
          }),
          { numRuns: 2_000 }
        )
      }).pipe(Effect.provide(clusterWith(shards)))
    )
  }

  it.scoped("answers ownership from the cluster inside and outside a turn", () =>
    Effect.gen(function* () {
      const sharding = yield* Sharding.Sharding
      let asked = 0
      const counting = {
        ...sharding,
        hasShardId: (id: Parameters<typeof sharding.hasShardId>[0]) => {
          asked++
          return sharding.hasShardId(id)
        }
      }
      const lookup = makeShardLookup(counting, noHosts, 300)
      const expected = sharding.hasShardId(sharding.getShardId(EntityId.make("s-1"), "default"))
      const shard = lookup.shardOf("s-1")
      // Outside a turn every answer is asked afresh; inside one, once per shard.
      expect([lookup.owned(shard), lookup.owned(shard)]).toEqual([expected, expected])
      expect(asked).toBe(2)
      lookup.inTurn(() => {
        expect([lookup.owned(shard), lookup.owned(shard), lookup.owned(shard)]).toEqual([expected, expected, expected])
      })
      expect(asked).toBe(3)
      lookup.inTurn(() => lookup.owned(shard))
      expect(asked).toBe(4)
      expect(lookup.hostOfShard(shard)).toBeUndefined()
    }).pipe(Effect.provide(clusterWith(300)))
  )
})
