/**
 * What one scenario measured: HDR latency histogram (microsecond resolution, 3 significant
 * digits, so p99.9 of a million samples costs a few KB), outcome counts, and a per-second series
 * for throughput and latency over time. Latency is always from the *intended* send time.
 */
import * as hdr from "hdr-histogram-js"

export interface Percentiles {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

export interface SecondSample {
  /** Seconds since the scenario started. */
  readonly second: number
  readonly sent: number
  readonly ok: number
  readonly errors: number
  readonly readings: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export interface RecorderSummary {
  readonly label: string
  readonly elapsedMs: number
  readonly sent: number
  readonly ok: number
  /** Arrivals that were due but could not be sent (the in-flight bound was reached). */
  readonly unsent: number
  readonly acceptedReadings: number
  readonly durableReadings: number
  readonly rejected: Readonly<Record<string, number>>
  readonly errors: Readonly<Record<string, number>>
  readonly overloaded: number
  readonly latencyMs: Percentiles
  readonly throughput: { readonly okPerSec: number; readonly readingsPerSec: number }
  readonly series: ReadonlyArray<SecondSample>
}

const histogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false })

type Histogram = ReturnType<typeof histogram>

const percentiles = (h: Histogram): Percentiles =>
  h.totalCount === 0
    ? { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN }
    : {
        count: h.totalCount,
        p50: h.getValueAtPercentile(50) / 1000,
        p90: h.getValueAtPercentile(90) / 1000,
        p99: h.getValueAtPercentile(99) / 1000,
        p999: h.getValueAtPercentile(99.9) / 1000,
        max: h.maxValue / 1000
      }

interface Second {
  sent: number
  ok: number
  errors: number
  readings: number
  readonly latency: Histogram
}

const add = (m: Record<string, number>, key: string, n = 1): void => {
  m[key] = (m[key] ?? 0) + n
}

export class Recorder {
  private readonly latency = histogram()
  private readonly seconds: Array<Second> = []
  private readonly startedAt: number
  private endedAt: number | null = null
  sent = 0
  ok = 0
  unsent = 0
  acceptedReadings = 0
  durableReadings = 0
  overloaded = 0
  readonly rejected: Record<string, number> = {}
  readonly errors: Record<string, number> = {}

  constructor(
    readonly label: string,
    now: number = performance.now()
  ) {
    this.startedAt = now
  }

  private second(at: number): Second {
    const i = Math.max(0, Math.floor((at - this.startedAt) / 1000))
    for (let k = this.seconds.length; k <= i; k++) this.seconds.push({ sent: 0, ok: 0, errors: 0, readings: 0, latency: histogram() })
    return this.seconds[i]!
  }

  markSent(at: number): void {
    this.sent++
    this.second(at).sent++
  }

  markUnsent(): void {
    this.unsent++
  }

  /** A successful answer: its latency from the intended send time, and the readings it carried. */
  recordOk(intendedAt: number, answeredAt: number, readings: { readonly accepted: number; readonly durable: number }): void {
    const micros = Math.max(1, Math.round((answeredAt - intendedAt) * 1000))
    this.latency.recordValue(micros)
    const s = this.second(answeredAt)
    s.latency.recordValue(micros)
    s.ok++
    s.readings += readings.accepted
    this.ok++
    this.acceptedReadings += readings.accepted
    this.durableReadings += readings.durable
  }

  /** A latency that is not an answer to a request (a live frame): only the histograms. */
  recordLatency(ms: number, at: number): void {
    const micros = Math.max(1, Math.round(ms * 1000))
    this.latency.recordValue(micros)
    this.second(at).latency.recordValue(micros)
  }

  recordRejected(reason: string, n: number): void {
    add(this.rejected, reason, n)
  }

  recordError(code: string, at: number, overloaded = false): void {
    add(this.errors, code)
    if (overloaded) this.overloaded++
    this.second(at).errors++
  }

  end(at: number = performance.now()): void {
    this.endedAt ??= at
  }

  summary(): RecorderSummary {
    const elapsedMs = (this.endedAt ?? performance.now()) - this.startedAt
    const seconds = elapsedMs / 1000
    return {
      label: this.label,
      elapsedMs,
      sent: this.sent,
      ok: this.ok,
      unsent: this.unsent,
      acceptedReadings: this.acceptedReadings,
      durableReadings: this.durableReadings,
      rejected: { ...this.rejected },
      errors: { ...this.errors },
      overloaded: this.overloaded,
      latencyMs: percentiles(this.latency),
      throughput: { okPerSec: this.ok / seconds, readingsPerSec: this.acceptedReadings / seconds },
      series: this.seconds.map((s, i) => {
        const p = percentiles(s.latency)
        return { second: i, sent: s.sent, ok: s.ok, errors: s.errors, readings: s.readings, p50Ms: p.p50, p99Ms: p.p99 }
      })
    }
  }
}

/** Errors (failed requests, error answers, unsent arrivals) over everything that was due. */
export const errorRate = (s: RecorderSummary): number => {
  const failed = Object.values(s.errors).reduce((a, b) => a + b, 0) + s.unsent
  const due = s.sent + s.unsent
  return due === 0 ? 0 : failed / due
}
