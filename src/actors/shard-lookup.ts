/**
 * Which shard a sensor is on and whether this node may decide it in-process: its shard's host is
 * open here and the node still holds the shard. Shared by the ingest gateway (sending side) and the
 * host entity (receiving side of a message that carries batches of several shards of one node).
 *
 * Per sensor batch this costs no allocation: the shard is a number from the cluster's own hash
 * (checked against `Sharding.getShardId` at start-up), and ownership is asked of the cluster once
 * per shard per turn (`Sharding.hasShardId` allocates an Option per call).
 */
import { EntityId, ShardId, type Sharding } from "@effect/cluster"
import type { CommitTicket } from "../storage/writer.js"
import type { ShardHost } from "./shard-host.js"

const SHARD_GROUP = "default"

export interface ShardLookup {
  /** The sensor's shard, 1..shards. */
  readonly shardOf: (sensor: string) => number
  /** Whether this node holds the shard (its lock). */
  readonly owned: (shard: number) => boolean
  /** The shard's host, when it is open on this node and the node holds the shard. */
  readonly hostOfShard: (shard: number) => ShardHost<CommitTicket> | undefined
  /** The shards this node holds with their host open: the ownership hint a reply carries. */
  readonly openOwned: () => Array<number>
  /**
   * Runs `f`, a synchronous stretch (one request's dispatch), asking the cluster about each shard's
   * ownership at most once: its shard set cannot change while no other code runs. Outside such a
   * stretch every answer is asked afresh.
   */
  readonly inTurn: <A>(f: () => A) => A
}

/** The cluster's string hash (`@effect/cluster` internal/hash.ts), which `Sharding.getShardId` takes modulo the shard count. */
const hashString = (str: string): number => {
  let h = 5381
  let i = str.length
  while (i) h = (h * 33) ^ str.charCodeAt(--i)
  return (h & 0xbfffffff) | ((h >>> 1) & 0x40000000)
}

/** `Sharding.getShardId(entityId, group).id` without the ShardId object. */
export const shardNumber = (entityId: string, shards: number): number => Math.abs(hashString(entityId) % shards) + 1

/** Ids whose shard the start-up check compares with the cluster's own answer. */
const PROBES = ["", "a", "sensor-1", "tenant-7/site-3/flow-0042", "ü-π-水", "x".repeat(300)]

export const makeShardLookup = (
  sharding: Sharding.Sharding["Type"],
  hosts: { readonly get: (shard: number) => ShardHost<CommitTicket> | undefined; readonly openShards: () => Iterable<number> },
  shards: number
): ShardLookup => {
  const viaCluster = (sensor: string) => sharding.getShardId(EntityId.make(sensor), SHARD_GROUP).id
  // Should a later @effect/cluster hash differently, every lookup goes through the cluster instead.
  const sameHash = PROBES.every((p) => shardNumber(p, shards) === viaCluster(p))
  const shardOf = sameHash ? (sensor: string) => shardNumber(sensor, shards) : viaCluster

  // One ShardId object per shard (the group is fixed), so the cluster's set lookup hits its cached hash.
  const ids: Array<ShardId.ShardId> = []
  for (let s = 0; s <= shards; s++) ids.push(ShardId.make(SHARD_GROUP, s))
  const holds = (shard: number) => sharding.hasShardId(ids[shard] ?? ShardId.make(SHARD_GROUP, shard))

  // Ownership remembered within a turn: turn[shard] === turnNo means known[shard] answers for it.
  const turn = new Uint32Array(shards + 1)
  const known = new Uint8Array(shards + 1)
  let turnNo = 0
  let inside = false
  const inTurn = <A>(f: () => A): A => {
    if (inside) return f()
    turnNo = turnNo === 0xffffffff ? 1 : turnNo + 1
    if (turnNo === 1) turn.fill(0)
    inside = true
    try {
      return f()
    } finally {
      inside = false
    }
  }
  const owned = (shard: number): boolean => {
    if (!inside || shard < 1 || shard > shards) return holds(shard)
    if (turn[shard] !== turnNo) {
      turn[shard] = turnNo
      known[shard] = holds(shard) ? 1 : 0
    }
    return known[shard] === 1
  }
  const hostOfShard = (shard: number) => {
    const host = hosts.get(shard)
    return host?.isOpen === true && owned(shard) ? host : undefined
  }
  const openOwned = () => {
    const out: Array<number> = []
    for (const shard of hosts.openShards()) if (hosts.get(shard)?.isOpen === true && holds(shard)) out.push(shard)
    return out
  }
  return { shardOf, owned, hostOfShard, openOwned, inTurn }
}
