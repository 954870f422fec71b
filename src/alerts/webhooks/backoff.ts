/**
 * The retry policy of webhook deliveries as pure functions: which answers are retried, and how long
 * to wait before the next attempt.
 */

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxMs, baseMs * 2^(attempt-1))].
 * `attempt` is the number of the attempt that just failed (1 for the first); `random` is in [0, 1).
 * Full jitter spreads the retries of many deliveries that failed together (a target that came back).
 */
export const backoffMs = (attempt: number, baseMs: number, maxMs: number, random: () => number): number => {
  const exponent = Math.max(0, Math.min(attempt - 1, 52))
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent)
  return Math.floor(random() * ceiling)
}

/**
 * A `Retry-After` header in ms from `nowMs`: delay-seconds or an HTTP date; null when absent or
 * unreadable. A date in the past is 0.
 */
export const retryAfterMs = (header: string | null, nowMs: number): number | null => {
  if (header === null) return null
  const text = header.trim()
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs)
}

/**
 * The wait before retrying: the jittered backoff, or the target's `Retry-After` when that is longer
 * (honoured on 429 and 503 only), never more than `maxMs`.
 */
export const retryDelayMs = (
  attempt: number,
  settings: { readonly baseMs: number; readonly maxMs: number },
  random: () => number,
  status: number | null,
  retryAfter: number | null
): number => {
  const backoff = backoffMs(attempt, settings.baseMs, settings.maxMs, random)
  const asked = (status === 429 || status === 503) && retryAfter !== null ? retryAfter : 0
  return Math.min(settings.maxMs, Math.max(backoff, asked))
}

export type AnswerClass = "delivered" | "retryable" | "permanent"

/**
 * 2xx delivered; 408, 429 and 5xx retried (the target may recover); any other status (other 4xx, or
 * a 1xx/3xx a webhook target should not send) is permanent: the same request would fail again.
 */
export const classifyStatus = (status: number): AnswerClass => {
  if (status >= 200 && status < 300) return "delivered"
  if (status === 408 || status === 429 || status >= 500) return "retryable"
  return "permanent"
}
