/**
 * The entity id of each shard's host: an id the cluster's own hash puts on exactly that shard.
 * `Sharding.getShardId` is deterministic and the same on every runner, so each node finds the same
 * ids by trying `host-0`, `host-1`, ... until every shard has one (about shards x ln(shards) tries:
 * ~1,700 hashes for 300 shards, well under a millisecond). Shard ids run 1..shards.
 */
export const hostIds = (shards: number, shardOf: (entityId: string) => number): ReadonlyArray<string> => {
  const ids = new Array<string | undefined>(shards + 1).fill(undefined)
  let missing = shards
  for (let n = 0; missing > 0; n++) {
    if (n > shards * 1_000) throw new Error(`no host id found for some of ${shards} shards after ${n} tries`)
    const id = `host-${n}`
    const shard = shardOf(id)
    if (shard >= 1 && shard <= shards && ids[shard] === undefined) {
      ids[shard] = id
      missing--
    }
  }
  return ids.map((id) => id ?? "")
}
