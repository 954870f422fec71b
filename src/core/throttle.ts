/**
 * Token bucket per sensor. Rate and burst are passed on every call rather than stored, so a config
 * change applies without rebuilding the bucket.
 */

export interface TokenBucket {
  tokens: number
  /** Latest time seen (epoch ms); refills are measured from here. */
  last: number
}

/** Starts full: a sensor that was quiet may send its whole burst at once. */
export const createBucket = (burst: number, now: number): TokenBucket => ({ tokens: Math.max(0, burst), last: now })

const refill = (b: TokenBucket, rate: number, burst: number, now: number): void => {
  // A clock stepping back adds nothing and keeps `last`, so the same interval is never paid twice.
  if (now > b.last) {
    if (rate > 0) b.tokens = Math.min(burst, b.tokens + (rate * (now - b.last)) / 1000)
    b.last = now
  }
  if (b.tokens > burst) b.tokens = Math.max(0, burst)
}

/** Refills for the time since the last call, then takes one token if a whole one is there. */
export const takeToken = (b: TokenBucket, rate: number, burst: number, now: number): boolean => {
  refill(b, rate, burst, now)
  if (b.tokens >= 1) {
    b.tokens -= 1
    return true
  }
  return false
}

/**
 * Milliseconds after `b.last` (the latest time seen) at which `takeToken` will succeed: 0 when a
 * token is there, Infinity when the rate is not positive. Rounded up to whole ms and checked with
 * the same arithmetic as the refill, so with an integer-ms clock waiting exactly this long always
 * gets a token.
 */
export const retryAfterMs = (b: TokenBucket, rate: number): number => {
  if (b.tokens >= 1) return 0
  if (!(rate > 0)) return Number.POSITIVE_INFINITY
  let wait = Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / rate))
  if (!(wait <= Number.MAX_SAFE_INTEGER)) return Number.POSITIVE_INFINITY
  // ceil of a rounded quotient can land one ms short; a couple of steps always suffice.
  for (let i = 0; i < 8 && b.tokens + (rate * wait) / 1000 < 1; i++) wait++
  return wait
}

/** Clamps the tokens to a (new, smaller) burst. */
export const clampBucket = (b: TokenBucket, burst: number): void => {
  if (b.tokens > burst) b.tokens = Math.max(0, burst)
}
