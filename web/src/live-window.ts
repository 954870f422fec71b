/**
 * The sensor page's live feed, without the browser: frames of `/ws/live` decoded, the readings of
 * the last minutes kept in time order (suspect ones apart, so the chart draws them as points), and
 * the reconnect backoff. No imports: the unit tests load it under Node.
 */

export interface LiveReadings {
  readonly sensor: string
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  readonly quality: ReadonlyArray<number>
}

export interface LiveState {
  readonly status: string
  readonly lastTs: number | null
}

export type LiveFrame =
  | { readonly type: "readings"; readonly sensors: ReadonlyArray<LiveReadings> }
  | { readonly type: "subscribed"; readonly states: ReadonlyArray<{ readonly sensor: string; readonly state: LiveState | null }> }
  | { readonly type: "state"; readonly sensor: string; readonly to: string; readonly at: number; readonly reason: string }
  | { readonly type: "alert"; readonly notification: Readonly<Record<string, unknown>> }
  | { readonly type: "lagged"; readonly dropped: number }
  | { readonly type: "degraded"; readonly message: string }
  | { readonly type: "recovered" }
  | { readonly type: "error"; readonly code: string; readonly message: string }
  | { readonly type: "other" }

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)
const numbers = (u: unknown): u is ReadonlyArray<number> => Array.isArray(u) && u.every((n) => typeof n === "number")

const readingsOf = (u: unknown): LiveReadings | null =>
  isObject(u) && typeof u.sensor === "string" && numbers(u.ts) && numbers(u.values) && numbers(u.quality) && u.ts.length === u.values.length && u.ts.length === u.quality.length
    ? { sensor: u.sensor, ts: u.ts, values: u.values, quality: u.quality }
    : null

const stateOf = (u: unknown): LiveState | null =>
  isObject(u) && typeof u.status === "string" ? { status: u.status, lastTs: typeof u.lastTs === "number" ? u.lastTs : null } : null

/**
 * A page of GET /api/v1/sensors/{id}/readings (newest first, quality `good` or `suspect`) as live
 * readings (quality 0 or 1), to fill the live window when the page opens or the feed comes back;
 * null when it is not such a page.
 */
export const historyReadingsOf = (u: unknown): LiveReadings | null => {
  if (!isObject(u) || typeof u.sensor !== "string" || !Array.isArray(u.readings)) return null
  const ts: Array<number> = []
  const values: Array<number> = []
  const quality: Array<number> = []
  for (const r of u.readings) {
    if (!isObject(r) || typeof r.ts !== "number" || typeof r.value !== "number") return null
    ts.push(r.ts)
    values.push(r.value)
    quality.push(r.quality === "good" ? 0 : 1)
  }
  return { sensor: u.sensor, ts, values, quality }
}

/** One text frame of `/ws/live`; null when it is not JSON or not a frame this page knows the shape of. */
export const liveFrameOf = (text: string): LiveFrame | null => {
  let u: unknown
  try {
    u = JSON.parse(text)
  } catch {
    return null
  }
  if (!isObject(u) || typeof u.type !== "string") return null
  switch (u.type) {
    case "readings": {
      if (!Array.isArray(u.sensors)) return null
      const sensors = u.sensors.map(readingsOf)
      return sensors.every((s) => s !== null) ? { type: "readings", sensors: sensors.filter((s) => s !== null) } : null
    }
    case "subscribed": {
      const sensors = Array.isArray(u.sensors) ? u.sensors : []
      const states = sensors.filter(isObject).map((s) => ({ sensor: String(s.sensor), state: stateOf(s.state) }))
      return { type: "subscribed", states }
    }
    case "state":
      return typeof u.sensor === "string" && typeof u.to === "string" && typeof u.at === "number"
        ? { type: "state", sensor: u.sensor, to: u.to, at: u.at, reason: typeof u.reason === "string" ? u.reason : "" }
        : null
    case "alert":
      return isObject(u.notification) ? { type: "alert", notification: u.notification } : null
    case "lagged":
      return { type: "lagged", dropped: typeof u.dropped === "number" ? u.dropped : 0 }
    case "degraded":
      return { type: "degraded", message: typeof u.message === "string" ? u.message : "live readings from other nodes are paused" }
    case "recovered":
      return { type: "recovered" }
    case "error":
      return { type: "error", code: typeof u.code === "string" ? u.code : "error", message: typeof u.message === "string" ? u.message : "" }
    default:
      return { type: "other" }
  }
}

const micros = (ms: number) => Math.round(ms * 1000)

/** The chart's columns: x (epoch seconds), every value (the line), suspect values only (null elsewhere: the points). */
export type LiveColumns = [Array<number>, Array<number | null>, Array<number | null>]

/**
 * The readings of one sensor within the last `windowMs`, in time order, at most `maxPoints` (the
 * oldest go first). Readings arrive mostly in order; one older than the newest (a sensor with
 * `allowedSkewMs`) is put in its place.
 */
export class LiveWindow {
  private ts: Array<number> = []
  private values: Array<number> = []
  private quality: Array<number> = []

  constructor(
    readonly windowMs: number,
    readonly maxPoints: number
  ) {}

  get size(): number {
    return this.ts.length
  }

  get suspectCount(): number {
    return this.quality.reduce((n, q) => (q === 0 ? n : n + 1), 0)
  }

  get newestTs(): number | null {
    return this.ts.length === 0 ? null : this.ts[this.ts.length - 1]!
  }

  get newestValue(): number | null {
    return this.values.length === 0 ? null : this.values[this.values.length - 1]!
  }

  add(readings: LiveReadings, now: number): void {
    let sorted = true
    for (let i = 0; i < readings.ts.length; i++) {
      const t = readings.ts[i]!
      if (this.ts.length > 0 && t < this.ts[this.ts.length - 1]!) sorted = false
      this.ts.push(t)
      this.values.push(readings.values[i]!)
      this.quality.push(readings.quality[i]!)
    }
    if (!sorted) this.sort()
    this.trim(now)
  }

  /** Drops what fell out of the window (or past `maxPoints`). */
  trim(now: number): void {
    const oldest = now - this.windowMs
    let drop = 0
    while (drop < this.ts.length && this.ts[drop]! < oldest) drop++
    drop = Math.max(drop, this.ts.length - this.maxPoints)
    if (drop > 0) {
      this.ts.splice(0, drop)
      this.values.splice(0, drop)
      this.quality.splice(0, drop)
    }
  }

  /**
   * Readings read from history (GET .../readings, any order) merged in: those whose ts the window
   * already holds (they also came live) are skipped, so a backfill racing the feed draws nothing twice.
   */
  backfill(readings: LiveReadings, now: number): void {
    // Compared to the microsecond, the precision PostgreSQL stores a ts with.
    const held = new Set(this.ts.map(micros))
    let added = 0
    for (let i = 0; i < readings.ts.length; i++) {
      const t = readings.ts[i]!
      if (held.has(micros(t))) continue
      held.add(micros(t))
      this.ts.push(t)
      this.values.push(readings.values[i]!)
      this.quality.push(readings.quality[i]!)
      added++
    }
    if (added > 0) this.sort()
    this.trim(now)
  }

  clear(): void {
    this.ts = []
    this.values = []
    this.quality = []
  }

  columns(): LiveColumns {
    return [this.ts.map((t) => t / 1000), this.values.slice(), this.values.map((v, i) => (this.quality[i] === 0 ? null : v))]
  }

  private sort(): void {
    const order = this.ts.map((_, i) => i).sort((a, b) => this.ts[a]! - this.ts[b]!)
    this.ts = order.map((i) => this.ts[i]!)
    this.values = order.map((i) => this.values[i]!)
    this.quality = order.map((i) => this.quality[i]!)
  }
}

const FIRST_RETRY_MS = 500
const MAX_RETRY_MS = 30_000

/** The wait before reconnect attempt `attempt` (0 = the first): doubling from 0.5 s up to 30 s, `jitter` (0–1) spreading it by up to a fifth. */
export const reconnectDelayMs = (attempt: number, jitter: number): number => {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, Math.min(attempt, 16)))
  return Math.round(base * (1 - 0.2 * Math.min(1, Math.max(0, jitter))))
}
