/**
 * Which range partitions a time-partitioned table needs and which it may drop: pure date arithmetic
 * in UTC, shared by raw readings (days) and the rollup tiers (days, months, years). A partition is
 * named `<table>_<YYYYMMDD | YYYYMM | YYYY>` and covers [lo, hi); it is dropped once all of it is
 * older than the cutoff (the start of the UTC day `retentionDays` ago), never earlier.
 */
export type Span = "day" | "month" | "year"

export interface PartitionRange {
  readonly name: string
  /** Epoch ms, inclusive. */
  readonly lo: number
  /** Epoch ms, exclusive. */
  readonly hi: number
}

const DAY_MS = 86_400_000

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** The partition of `table` holding the instant `ms`. */
export const partitionAt = (table: string, span: Span, ms: number): PartitionRange => {
  const d = new Date(ms)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  switch (span) {
    case "day": {
      const lo = Date.UTC(y, m, d.getUTCDate())
      return { name: `${table}_${y}${pad(m + 1, 2)}${pad(d.getUTCDate(), 2)}`, lo, hi: lo + DAY_MS }
    }
    case "month":
      return { name: `${table}_${y}${pad(m + 1, 2)}`, lo: Date.UTC(y, m, 1), hi: Date.UTC(y, m + 1, 1) }
    case "year":
      return { name: `${table}_${y}`, lo: Date.UTC(y, 0, 1), hi: Date.UTC(y + 1, 0, 1) }
  }
}

/** The start of the UTC day `days` before `now`: rows before it are past retention. */
export const retentionCutoff = (now: number, days: number): number => {
  const d = new Date(now - days * DAY_MS)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}

/** Every partition covering [from, to], oldest first, each once. */
export const partitionsCovering = (table: string, span: Span, from: number, to: number): Array<PartitionRange> => {
  const out: Array<PartitionRange> = []
  for (let at = from; at <= to; ) {
    const p = partitionAt(table, span, at)
    out.push(p)
    at = p.hi
  }
  return out
}

const NAME = /_(\d{4})(\d{2})?(\d{2})?$/

/**
 * The range a partition's name covers, or null for a name this scheme did not make (never dropped).
 */
export const rangeOfName = (table: string, span: Span, name: string): PartitionRange | null => {
  if (!name.startsWith(`${table}_`)) return null
  const match = NAME.exec(name)
  if (match === null || match.index !== table.length) return null
  const [, y, m, d] = match
  const hasMonth = m !== undefined
  const hasDay = d !== undefined
  if ((span === "day") !== hasDay || (span === "month") !== (hasMonth && !hasDay) || (span === "year") !== !hasMonth) return null
  const p = partitionAt(table, span, Date.UTC(Number(y), hasMonth ? Number(m) - 1 : 0, hasDay ? Number(d) : 1))
  return p.name === name ? p : null
}

/** Whether a partition lies wholly before the cutoff, and so may be dropped. */
export const isExpired = (partition: PartitionRange, cutoff: number): boolean => partition.hi <= cutoff
