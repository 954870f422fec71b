/**
 * A circuit breaker per webhook target, as plain data and pure functions (the dispatcher keeps one
 * value per target and replaces it with what these return).
 *
 * closed ── `failures` consecutive failures ──▶ open(until = now + openMs)
 * open ── `canAttempt` at or after `until` ──▶ half_open, with the one probe in flight
 * half_open ── probe succeeds ──▶ closed;  probe fails ──▶ open again for openMs
 *
 * While open nothing is sent; in half_open only the single probe is, so a target that is still down
 * costs one request per `openMs`, not one per queued item.
 */

export type BreakerState =
  | { readonly _tag: "closed"; readonly failures: number }
  | { readonly _tag: "open"; readonly until: number }
  | { readonly _tag: "half_open"; readonly probing: boolean }

export interface BreakerSettings {
  /** Consecutive failures that open the breaker (WEBHOOK_BREAKER_FAILURES). */
  readonly failures: number
  /** How long it stays open before one probe is let through (WEBHOOK_BREAKER_OPEN_MS). */
  readonly openMs: number
}

export const closedBreaker: BreakerState = { _tag: "closed", failures: 0 }

export const recordSuccess = (_state: BreakerState): BreakerState => closedBreaker

export const recordFailure = (state: BreakerState, now: number, settings: BreakerSettings): BreakerState => {
  switch (state._tag) {
    case "closed": {
      const failures = state.failures + 1
      return failures >= settings.failures ? { _tag: "open", until: now + settings.openMs } : { _tag: "closed", failures }
    }
    case "half_open":
      return { _tag: "open", until: now + settings.openMs }
    case "open":
      // A failure reported while open (an attempt that began before it opened) does not extend it.
      return state
  }
}

export interface AttemptDecision {
  readonly allowed: boolean
  /** The state to keep: `open` turns `half_open` (probe in flight) once its time has come. */
  readonly state: BreakerState
}

/** Whether a request may be sent now; when it may be the half-open probe, the probe is taken. */
export const canAttempt = (state: BreakerState, now: number): AttemptDecision => {
  switch (state._tag) {
    case "closed":
      return { allowed: true, state }
    case "open":
      return now >= state.until ? { allowed: true, state: { _tag: "half_open", probing: true } } : { allowed: false, state }
    case "half_open":
      return state.probing ? { allowed: false, state } : { allowed: true, state: { _tag: "half_open", probing: true } }
  }
}

/** Epoch ms until which nothing may be sent; null when an attempt is possible now or after the probe. */
export const blockedUntil = (state: BreakerState): number | null => (state._tag === "open" ? state.until : null)

/** Open or half-open: the target is considered down until a probe succeeds. */
export const isTripped = (state: BreakerState): boolean => state._tag !== "closed"
