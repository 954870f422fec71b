/**
 * Readings older than raw retention keeps. `readings` is partitioned by day and partitions are
 * dropped whole once past RETENTION_DAYS; a reading older than the oldest kept day would land in
 * the default partition, which retention never drops, and stay forever. So every edge rejects such
 * a reading with its own reason, `too_old` (counted, and named in the answer with its index), before
 * it reaches its sensor: it changes neither the sensor's state nor its counters.
 */

const DAY_MS = 86_400_000

/** The oldest ts a reading may carry: the start (UTC) of the oldest day raw retention keeps. */
export const oldestKeptTs = (now: number, retentionDays: number): number => Math.floor((now - retentionDays * DAY_MS) / DAY_MS) * DAY_MS

/** A reading the edge refused before its sensor saw it. */
export interface RefusedReading {
  readonly index: number
  readonly sensor: string
}

interface Group {
  readonly sensor: string
  readonly index: ReadonlyArray<number>
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
}

const NONE: ReadonlyArray<RefusedReading> = []

/**
 * Splits off the readings older than `oldest`: the groups with what is left (a group left empty is
 * dropped; one with nothing too old is kept as it is) and the readings split off, in group order.
 * Allocates nothing when no reading is too old, the normal case.
 */
export const splitTooOld = <G extends Group>(groups: ReadonlyArray<G>, oldest: number): { readonly kept: ReadonlyArray<G>; readonly tooOld: ReadonlyArray<RefusedReading> } => {
  let any = false
  for (let g = 0; g < groups.length && !any; g++) {
    const ts = groups[g]!.ts
    for (let i = 0; i < ts.length; i++) {
      if (ts[i]! < oldest) {
        any = true
        break
      }
    }
  }
  if (!any) return { kept: groups, tooOld: NONE }
  const kept: Array<G> = []
  const tooOld: Array<RefusedReading> = []
  for (const group of groups) {
    const index: Array<number> = []
    const ts: Array<number> = []
    const values: Array<number> = []
    for (let i = 0; i < group.ts.length; i++) {
      if (group.ts[i]! < oldest) tooOld.push({ index: group.index[i]!, sensor: group.sensor })
      else {
        index.push(group.index[i]!)
        ts.push(group.ts[i]!)
        values.push(group.values[i]!)
      }
    }
    if (ts.length === group.ts.length) kept.push(group)
    else if (ts.length > 0) kept.push({ ...group, index, ts, values })
  }
  return { kept, tooOld }
}
