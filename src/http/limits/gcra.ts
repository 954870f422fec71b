/**
 * The generic cell rate algorithm: one number per client (its theoretical arrival time, TAT) says
 * whether a request conforms to `ratePerSec` with bursts of up to `burst` requests. O(1) time and
 * memory per client, no timers, and the same arithmetic runs in Redis (see redis-script.ts) when
 * the limit is shared by many nodes.
 */
export interface Limit {
  readonly ratePerSec: number
  readonly burst: number
}

export interface Decision {
  readonly allowed: boolean
  /** The client's TAT after this request (unchanged when refused). */
  readonly tat: number
  /** Requests still allowed right now. */
  readonly remaining: number
  /** When refused: how long until one request conforms again. */
  readonly retryAfterMs: number
  /** How long until the full burst is available again. */
  readonly resetMs: number
}

export const gcra = (tat: number | undefined, now: number, limit: Limit): Decision => {
  const interval = 1000 / limit.ratePerSec
  const tolerance = interval * (limit.burst - 1)
  const start = Math.max(tat ?? now, now)
  if (start - now > tolerance) {
    return { allowed: false, tat: start, remaining: 0, retryAfterMs: start - now - tolerance, resetMs: start - now }
  }
  const next = start + interval
  return {
    allowed: true,
    tat: next,
    remaining: Math.max(0, Math.floor((now + tolerance - next) / interval) + 1),
    retryAfterMs: 0,
    resetMs: next - now
  }
}

/** Several limits' decision on one request: allowed only if every limit allows it (with each one's new TAT), else the first that refuses. */
export type JointDecision =
  | { readonly allowed: true; readonly tats: ReadonlyArray<number> }
  | { readonly allowed: false; readonly index: number; readonly retryAfterMs: number; readonly resetMs: number }

/** GCRA for a request that several limits (their TATs and limits, index-aligned) must all allow. */
export const gcraJoint = (tats: ReadonlyArray<number | undefined>, limits: ReadonlyArray<Limit>, now: number): JointDecision => {
  const decisions = limits.map((limit, i) => gcra(tats[i], now, limit))
  const refused = decisions.findIndex((d) => !d.allowed)
  if (refused < 0) return { allowed: true, tats: decisions.map((d) => d.tat) }
  const d = decisions[refused]!
  return { allowed: false, index: refused, retryAfterMs: d.retryAfterMs, resetMs: d.resetMs }
}
