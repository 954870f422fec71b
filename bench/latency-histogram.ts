/**
 * Latency histogram with fixed 0.1 ms buckets up to 10 s (and one overflow bucket): recording is
 * O(1) with no allocation, so a dashboard receiving 100,000 readings/s can record every one.
 */
const BUCKET_MS = 0.1
const BUCKETS = 100_000

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1)
  count = 0
  max = 0

  record(ms: number): void {
    const i = ms <= 0 ? 0 : Math.min(BUCKETS, Math.floor(ms / BUCKET_MS))
    this.counts[i] = (this.counts[i] ?? 0) + 1
    this.count++
    if (ms > this.max) this.max = ms
  }

  reset(): void {
    this.counts.fill(0)
    this.count = 0
    this.max = 0
  }

  /** The latency under which a fraction `q` of the samples fall (upper edge of its bucket). */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN
    const target = Math.ceil(q * this.count)
    let seen = 0
    for (let i = 0; i <= BUCKETS; i++) {
      seen += this.counts[i] ?? 0
      if (seen >= target) return i === BUCKETS ? this.max : (i + 1) * BUCKET_MS
    }
    return this.max
  }
}
