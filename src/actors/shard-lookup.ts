/**
 * Which shard a sensor is on and whether this node may decide it in-process: its shard's host is
 * open here and the node still holds the shard. Shared by the ingest gateway (sending side) and the
 * host entity (receiving side of a message that carries batches of several shards of one node).
 */
import { EntityId, ShardId, type Sharding } from "@effect/cluster"
import type { CommitTicket } from "../storage/writer.js"
import type { ShardHost } from "./shard-host.js"

const SHARD_GROUP = "default"

export interface ShardLookup {
  readonly shardOf: (sensor: string) => ShardId.ShardId
  /** Whether this node holds the shard (its lock). */
  readonly owned: (shardId: ShardId.ShardId) => boolean
  /** The sensor's shard host, when it is open on this node and the node holds its shard. */
  readonly localHost: (sensor: string) => ShardHost<CommitTicket> | undefined
  /** `localHost` for a shard already looked up. */
  readonly hostOfShard: (shardId: ShardId.ShardId) => ShardHost<CommitTicket> | undefined
  /** The shards this node holds with their host open: the ownership hint a reply carries. */
  readonly openOwned: () => Array<number>
}

export const makeShardLookup = (
  sharding: Sharding.Sharding["Type"],
  hosts: { readonly get: (shard: number) => ShardHost<CommitTicket> | undefined; readonly openShards: () => Iterable<number> }
): ShardLookup => {
  const shardOf = (sensor: string) => sharding.getShardId(EntityId.make(sensor), SHARD_GROUP)
  // One ShardId object per shard (the group is fixed), so that the ownership check hits the
  // object's cached hash instead of hashing a fresh ShardId per sensor batch.
  const canonical: Array<ShardId.ShardId | undefined> = []
  const canonicalOf = (shard: number, given?: ShardId.ShardId): ShardId.ShardId => {
    let id = canonical[shard]
    if (id === undefined) {
      id = given ?? ShardId.make(SHARD_GROUP, shard)
      canonical[shard] = id
    }
    return id
  }
  const owned = (shardId: ShardId.ShardId): boolean => sharding.hasShardId(canonicalOf(shardId.id, shardId))
  const hostOfShard = (shardId: ShardId.ShardId) => {
    const host = hosts.get(shardId.id)
    return host?.isOpen === true && owned(shardId) ? host : undefined
  }
  const localHost = (sensor: string) => hostOfShard(shardOf(sensor))
  const openOwned = () => {
    const out: Array<number> = []
    for (const shard of hosts.openShards()) if (hosts.get(shard)?.isOpen === true && sharding.hasShardId(canonicalOf(shard))) out.push(shard)
    return out
  }
  return { shardOf, owned, localHost, hostOfShard, openOwned }
}
