/**
 * Which rollup tier answers an aggregates query, and how its rows are grouped into the asked
 * buckets: the coarsest tier whose buckets nest inside the asked ones in the asked time zone.
 * Minutes (1m, 5m, 15m) come from the 1 min tier; hours from the 1 h tier when the zone's offset is
 * a whole number of hours over the range, otherwise from minutes; days, ISO weeks and months from the
 * 1 d tier in UTC, from the 1 h tier in a whole-hour zone (DST included: a local day is 23, 24 or 25
 * of those hours), otherwise from minutes. A range reaching past the chosen tier's retention is
 * refused, naming `from` and what would answer it, rather than answered with a silent hole.
 * Plain functions: no I/O.
 */
export const INTERVALS = ["1m", "5m", "15m", "1h", "1d", "1w", "1mo"] as const
export type AggregateInterval = (typeof INTERVALS)[number]

export type Tier = "1m" | "1h" | "1d"

export type Bucketing =
  | { readonly kind: "fixed"; readonly seconds: number }
  | { readonly kind: "calendar"; readonly unit: "day" | "week" | "month" }

export interface AggregatePlan {
  readonly tier: Tier
  readonly bucketing: Bucketing
}

export interface TierRetention {
  readonly minuteDays: number
  readonly hourDays: number
  readonly dayDays: number
}

const DAY_MS = 86_400_000

const BUCKETING: Record<AggregateInterval, Bucketing> = {
  "1m": { kind: "fixed", seconds: 60 },
  "5m": { kind: "fixed", seconds: 300 },
  "15m": { kind: "fixed", seconds: 900 },
  "1h": { kind: "fixed", seconds: 3_600 },
  "1d": { kind: "calendar", unit: "day" },
  "1w": { kind: "calendar", unit: "week" },
  "1mo": { kind: "calendar", unit: "month" }
}

const formatters = new Map<string, Intl.DateTimeFormat>()

const formatterOf = (tz: string): Intl.DateTimeFormat | null => {
  const known = formatters.get(tz)
  if (known !== undefined) return known
  try {
    const f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
    if (formatters.size < 1_000) formatters.set(tz, f)
    return f
  } catch {
    return null
  }
}

/** Whether `tz` is an IANA time zone this process knows (e.g. `Europe/Berlin`, `UTC`). */
export const isTimeZone = (tz: string): boolean => tz.length <= 64 && formatterOf(tz) !== null

/** The zone's offset from UTC at `ms`, in minutes (Berlin in summer: 120). */
export const offsetMinutes = (tz: string, ms: number): number => {
  const f = formatterOf(tz)
  if (f === null) return 0
  const parts: Record<string, number> = {}
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== "literal") parts[p.type] = Number(p.value)
  const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!)
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60_000)
}

/**
 * Whether the zone's offset is a whole number of hours throughout [from, to): sampled at both ends
 * and every 15 days between (zones change offset at most a few times a year, and never to a
 * fraction of an hour for less than months).
 */
export const wholeHourOffsets = (tz: string, from: number, to: number): boolean => {
  const step = Math.max(15 * DAY_MS, (to - from) / 1_000)
  for (let at = from; at < to; at += step) if (offsetMinutes(tz, at) % 60 !== 0) return false
  return offsetMinutes(tz, Math.max(from, to - 1)) % 60 === 0
}

const isUtc = (tz: string) => tz === "UTC" || tz === "Etc/UTC" || tz === "GMT" || tz === "Etc/GMT"

const TIER_SETTING: Record<Tier, string> = {
  "1m": "ROLLUP_1M_RETENTION_DAYS",
  "1h": "ROLLUP_1H_RETENTION_DAYS",
  "1d": "ROLLUP_1D_RETENTION_DAYS"
}

/** The start of the UTC day `days` before `now`: the oldest bucket a tier still holds. */
const oldestKept = (now: number, days: number): number => {
  const d = new Date(now - days * DAY_MS)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}

/** The plan, or the parameter at fault and why. */
export const planAggregates = (
  query: { readonly interval: AggregateInterval; readonly tz: string; readonly from: number; readonly to: number },
  retention: TierRetention,
  now: number
): { readonly plan: AggregatePlan } | { readonly param: string; readonly message: string } => {
  const bucketing = BUCKETING[query.interval]
  const wholeHours = isUtc(query.tz) || wholeHourOffsets(query.tz, query.from, query.to)
  const tier: Tier =
    bucketing.kind === "fixed"
      ? bucketing.seconds >= 3_600 && wholeHours
        ? "1h"
        : "1m"
      : isUtc(query.tz)
        ? "1d"
        : wholeHours
          ? "1h"
          : "1m"
  const days = tier === "1m" ? retention.minuteDays : tier === "1h" ? retention.hourDays : retention.dayDays
  const oldest = oldestKept(now, days)
  if (query.from < oldest) {
    const hint =
      tier === "1d"
        ? ""
        : tier === "1h"
          ? "; for older ranges ask for tz=UTC (days come from the 1 d tier)"
          : bucketing.kind === "fixed" && bucketing.seconds < 3_600
            ? "; for older ranges ask for interval=1h or longer"
            : "; this time zone's offset is not a whole number of hours, so its buckets need 1 min rollups"
    return {
      param: "from",
      message: `${query.interval} buckets in ${query.tz} come from the ${tier} rollups, kept ${days} days (${TIER_SETTING[tier]}): from must be at or after ${new Date(oldest).toISOString()}${hint}`
    }
  }
  return { plan: { tier, bucketing } }
}

const TIER_MS: ReadonlyArray<readonly [Tier, number]> = [
  ["1d", 86_400_000],
  ["1h", 3_600_000],
  ["1m", 60_000]
]

/**
 * The coarsest tier whose buckets tile [from, to) exactly (both bounds on its boundaries) and that
 * still holds `from`; or the parameter at fault. Bounds inside a minute are refused: no tier can
 * split a minute.
 */
export const tierForRange = (
  from: number,
  to: number,
  retention: TierRetention,
  now: number
): { readonly tier: Tier } | { readonly param: string; readonly message: string } => {
  const aligned = TIER_MS.filter(([, ms]) => from % ms === 0 && to % ms === 0)
  if (aligned.length === 0) return { param: "from", message: "from and to must fall on whole minutes (the finest rollup)" }
  for (const [tier] of aligned) {
    const days = tier === "1m" ? retention.minuteDays : tier === "1h" ? retention.hourDays : retention.dayDays
    if (from >= oldestKept(now, days)) return { tier }
  }
  const [finest] = aligned[aligned.length - 1]!
  return {
    param: "from",
    message: `the range needs the ${finest} rollups (its bounds are not on coarser boundaries), which do not reach back to ${new Date(from).toISOString()} (${TIER_SETTING[finest]}); align from and to to whole hours or UTC days for older ranges`
  }
}
