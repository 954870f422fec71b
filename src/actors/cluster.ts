/**
 * The node's cluster runtime: a real `@effect/cluster` runner whose shard locks, runner registry
 * and message storage live in PostgreSQL. Its `ShardingConfig` is built here from `AppConfig` only,
 * never from the environment (the library would otherwise read the HTTP `PORT` as its own).
 *
 * Without `RUNNER_HOST` the node is a cluster of one (no runner socket). With it, the node listens
 * for other runners on `RUNNER_LISTEN_HOST:RUNNER_PORT`, advertises `RUNNER_HOST:RUNNER_PORT`, and
 * shares the shards with every node registered in the same database: joining is configuration.
 */
import { RunnerAddress, RunnerHealth, Runners, Sharding, ShardingConfig, SocketRunner, SqlMessageStorage, SqlRunnerStorage } from "@effect/cluster"
import { NodeClusterSocket } from "@effect/platform-node"
import { RpcSerialization } from "@effect/rpc"
import { Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"

const shardingConfigLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ cluster, entity }) =>
    ShardingConfig.layer({
      shardsPerGroup: cluster.shardsPerGroup,
      entityMailboxCapacity: entity.mailboxCapacity,
      entityMaxIdleTime: entity.maxIdleMs,
      simulateRemoteSerialization: cluster.simulateRemoteSerialization,
      // A cluster of one still needs an address: without one the node would be a client only, hosting no shard.
      runnerAddress: Option.some(RunnerAddress.make(Option.getOrElse(cluster.runnerHost, () => "localhost"), cluster.runnerPort)),
      runnerListenAddress: Option.map(cluster.runnerHost, () => RunnerAddress.make(cluster.runnerListenHost, cluster.runnerPort)),
      shardLockRefreshInterval: Duration.millis(cluster.lockRefreshMs),
      shardLockExpiration: Duration.millis(cluster.lockExpirationMs),
      refreshAssignmentsInterval: Duration.millis(cluster.refreshAssignmentsMs),
      runnerHealthCheckInterval: Duration.millis(cluster.healthCheckMs),
      entityTerminationTimeout: Duration.millis(cluster.entityTerminationMs)
    })
  )
)

/** Their tables are created under the node's start-up lock (storage/startup-lock.ts). */
const messageStorageLive = SqlMessageStorage.layer
const runnerStorageLive = Layer.orDie(SqlRunnerStorage.layer)

/** A single runner (this node owns every shard), same storage as a multi-node cluster. */
const SingleNodeClusterLive = Sharding.layer.pipe(
  Layer.provideMerge(Runners.layerNoop),
  Layer.provideMerge(messageStorageLive),
  Layer.provide([runnerStorageLive, RunnerHealth.layerNoop]),
  Layer.provide(shardingConfigLive)
)

/** One runner of many: other runners reach its entities over a socket, msgpack-encoded. */
const SocketClusterLive = SocketRunner.layer.pipe(
  Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
  Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(NodeClusterSocket.layerClientProtocol))),
  Layer.provideMerge(messageStorageLive),
  Layer.provide(runnerStorageLive),
  Layer.provide(shardingConfigLive),
  Layer.provide(RpcSerialization.layerMsgPack)
)

export const ClusterLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ cluster }) => (Option.isSome(cluster.runnerHost) ? SocketClusterLive : SingleNodeClusterLive))
)
