/**
 * The node's cluster runtime: a real `@effect/cluster` runner whose shard locks, runner registry
 * and message storage live in PostgreSQL. Its `ShardingConfig` is built here from `AppConfig` only,
 * never from the environment (the library would otherwise read the HTTP `PORT` as its own).
 */
import { RunnerHealth, Runners, Sharding, ShardingConfig, SqlMessageStorage, SqlRunnerStorage } from "@effect/cluster"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config.js"

const shardingConfigLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ cluster, entity }) =>
    ShardingConfig.layer({
      shardsPerGroup: cluster.shardsPerGroup,
      entityMailboxCapacity: entity.mailboxCapacity,
      entityMaxIdleTime: entity.maxIdleMs,
      simulateRemoteSerialization: cluster.simulateRemoteSerialization
    })
  )
)

/** A single runner (this node owns every shard), same storage as a multi-node cluster. */
export const SingleNodeClusterLive = Sharding.layer.pipe(
  Layer.provideMerge(Runners.layerNoop),
  Layer.provideMerge(SqlMessageStorage.layer),
  Layer.provide([Layer.orDie(SqlRunnerStorage.layer), RunnerHealth.layerNoop]),
  Layer.provide(shardingConfigLive)
)
