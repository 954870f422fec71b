/**
 * The node's event-loop delay over a phase, from its cumulative `flowmesh_event_loop_delay_seconds`
 * histogram read before and after: p99 interpolated inside its bucket, max as the upper bound of the
 * highest bucket that gained a sample (so "max <= 100 ms" is exact at the 100 ms bound).
 */
const METRIC = "flowmesh_event_loop_delay_seconds_bucket"

export interface LoopDelay {
  readonly samples: number
  readonly p99Ms: number
  /** Upper bound of the slowest sample's bucket; Infinity when one was over the last bound. */
  readonly maxMs: number
}

type Buckets = ReadonlyArray<readonly [le: number, count: number]>

const read = async (origin: string): Promise<Buckets | null> => {
  try {
    const text = await (await fetch(`${origin}/metrics`)).text()
    const out: Array<[number, number]> = []
    for (const line of text.split("\n")) {
      if (!line.startsWith(METRIC)) continue
      const le = /le="([^"]+)"/.exec(line)?.[1]
      const value = Number(line.slice(line.lastIndexOf(" ") + 1))
      if (le !== undefined) out.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value])
    }
    return out.length === 0 ? null : out.sort((a, b) => a[0] - b[0])
  } catch {
    return null
  }
}

export const delayBetween = (before: Buckets, after: Buckets): LoopDelay => {
  const cumulative = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as const)
  const samples = cumulative.at(-1)?.[1] ?? 0
  let p99Ms = Number.NaN
  let maxMs = 0
  let lower = 0
  let below = 0
  for (const [le, n] of cumulative) {
    if (Number.isNaN(p99Ms) && samples > 0 && n >= samples * 0.99) {
      const upper = Number.isFinite(le) ? le : lower
      p99Ms = 1000 * (lower + (upper - lower) * ((samples * 0.99 - below) / Math.max(1, n - below)))
    }
    if (n > below) maxMs = le * 1000
    lower = Number.isFinite(le) ? le : lower
    below = n
  }
  return { samples, p99Ms, maxMs }
}

/** Starts measuring; the returned function ends it (null when the node has no such metric). */
export const measureLoopDelay = async (origin: string): Promise<() => Promise<LoopDelay | null>> => {
  const before = await read(origin)
  return async () => {
    const after = await read(origin)
    return before === null || after === null ? null : delayBetween(before, after)
  }
}
