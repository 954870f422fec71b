/**
 * The sensor page's history chart, without the browser: the ranges it offers, the bucket interval
 * each asks the aggregates API for (so a chart never holds more than a few hundred buckets), the
 * answer decoded, and the chart's columns. No imports: the unit tests load it under Node.
 */

export type RangeId = "hour" | "day" | "week" | "month" | "custom"

export interface HistoryRange {
  readonly id: RangeId
  readonly label: string
  readonly spanMs: number
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export const RANGES: ReadonlyArray<HistoryRange> = [
  { id: "hour", label: "Hour", spanMs: HOUR },
  { id: "day", label: "Day", spanMs: DAY },
  { id: "week", label: "Week", spanMs: 7 * DAY },
  { id: "month", label: "Month", spanMs: 30 * DAY }
]

/** Intervals of GET /api/v1/sensors/{id}/aggregates this page uses (it accepts 15m too). */
export type Interval = "1m" | "5m" | "1h" | "1d" | "1w" | "1mo"

const CANDIDATES: ReadonlyArray<{ readonly interval: Interval; readonly ms: number }> = [
  { interval: "1m", ms: MINUTE },
  { interval: "5m", ms: 5 * MINUTE },
  { interval: "1h", ms: HOUR },
  { interval: "1d", ms: DAY },
  { interval: "1w", ms: 7 * DAY },
  // The shortest month: a span's count of calendar months is never more than this says.
  { interval: "1mo", ms: 28 * DAY }
]

/** At most this many buckets in a chart (a month of hours is 720–744). */
export const MAX_BUCKETS = 750

/**
 * The finest interval whose bucket count over `spanMs` stays within MAX_BUCKETS: an hour in 1 min
 * buckets, a day in 5 min, a week or a month in 1 h, up to two years in days, then weeks, then months.
 */
export const intervalFor = (spanMs: number): Interval => {
  for (const c of CANDIDATES) if (Math.ceil(spanMs / c.ms) <= MAX_BUCKETS) return c.interval
  return "1mo"
}

export type CustomRange = { readonly ok: true; readonly from: number; readonly to: number } | { readonly ok: false; readonly field: "from" | "to"; readonly message: string }

/**
 * The bounds of a custom range typed in two `datetime-local` fields (local time, "2026-12-06T05:30"),
 * or which field is wrong and why: each must be a date and time, and From before To.
 */
export const customRangeOf = (fromText: string, toText: string, parse: (text: string) => number = (t) => new Date(t).getTime()): CustomRange => {
  const from = fromText === "" ? Number.NaN : parse(fromText)
  if (!Number.isFinite(from)) return { ok: false, field: "from", message: "From: enter a date and time" }
  const to = toText === "" ? Number.NaN : parse(toText)
  if (!Number.isFinite(to)) return { ok: false, field: "to", message: "To: enter a date and time" }
  if (to <= from) return { ok: false, field: "to", message: "To: must be after From" }
  return { ok: true, from, to }
}

/** A `datetime-local` field's value for `epochMs` in the browser's time zone, to the minute. */
export const localInputValue = (epochMs: number): string => {
  const d = new Date(epochMs)
  const two = (n: number) => String(n).padStart(2, "0")
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`
}

const NAMES: Readonly<Record<string, string>> = { "1m": "1 min", "5m": "5 min", "15m": "15 min", "1h": "1 h", "1d": "1 day", "1w": "1 week", "1mo": "1 month" }

/** "1 min buckets" for `1m`. */
export const bucketLabel = (interval: string): string => `${NAMES[interval] ?? interval} buckets`

/** "from the 1 min rollups" for tier `1m`. */
export const tierLabel = (tier: string): string => `from the ${NAMES[tier] ?? tier} rollups`

export interface Bucket {
  readonly start: number
  readonly end: number
  readonly count: number
  readonly min: number
  readonly max: number
  readonly mean: number
  readonly suspect: number
}

export interface Aggregates {
  readonly interval: string
  readonly tier: string
  readonly buckets: ReadonlyArray<Bucket>
  readonly next: string | null
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

const bucketOf = (u: unknown): Bucket | null => {
  if (!isObject(u)) return null
  const { start, end, count, min, max, mean } = u
  if (typeof start !== "number" || typeof end !== "number" || typeof count !== "number") return null
  if (typeof min !== "number" || typeof max !== "number" || typeof mean !== "number") return null
  const suspect = isObject(u.suspect) && typeof u.suspect.count === "number" ? u.suspect.count : 0
  return { start, end, count, min, max, mean, suspect }
}

/** The answer of GET /api/v1/sensors/{id}/aggregates; null when it is not that shape. */
export const aggregatesOf = (u: unknown): Aggregates | null => {
  if (!isObject(u) || typeof u.interval !== "string" || typeof u.tier !== "string" || !Array.isArray(u.buckets)) return null
  const buckets = u.buckets.map(bucketOf)
  if (!buckets.every((b) => b !== null)) return null
  return { interval: u.interval, tier: u.tier, buckets: buckets.filter((b) => b !== null), next: typeof u.next === "string" ? u.next : null }
}

/** The chart's columns: x (bucket start, epoch seconds), mean, min, max. */
export type HistoryColumns = [Array<number>, Array<number | null>, Array<number | null>, Array<number | null>]

/**
 * Buckets as chart columns, oldest first. A bucket with no readings is absent from the answer: a
 * null after a bucket whose successor does not start where it ends breaks the line there.
 */
export const historyColumns = (buckets: ReadonlyArray<Bucket>): HistoryColumns => {
  const sorted = buckets.slice().sort((a, b) => a.start - b.start)
  const cols: HistoryColumns = [[], [], [], []]
  sorted.forEach((b, i) => {
    cols[0].push(b.start / 1000)
    cols[1].push(b.mean)
    cols[2].push(b.min)
    cols[3].push(b.max)
    const next = sorted[i + 1]
    if (next !== undefined && next.start > b.end) {
      cols[0].push(b.end / 1000)
      cols[1].push(null)
      cols[2].push(null)
      cols[3].push(null)
    }
  })
  return cols
}
