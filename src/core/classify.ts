/**
 * The per-reading decision. The hot path uses `classify`, which answers a plain number instead of
 * a Decision object: >= 0 accepted with that SuspectFlag set (0 = good), < 0 rejected with the
 * reason in `RejectCode`. The same code is what a sensor answers per reading and what is stored.
 */
import {
  type SlidingWindow,
  windowContainsTs,
  windowCount,
  windowHasLast,
  windowLastTs,
  windowLastValue,
  windowMean,
  windowStdDev
} from "./sliding-window.js"
import type { Decision } from "./types.js"
import type { CoreConfig } from "../domain/sensor-settings.js"
import type { RejectReason, SuspectReason } from "../domain/reasons.js"
import { SuspectFlag } from "../domain/reasons.js"

export const RejectCode = {
  invalid: -1,
  out_of_order: -2,
  duplicate: -3,
  throttled: -4
} as const satisfies Record<RejectReason, number>

/** The reject reason a code stands for; null for accepted codes (and unknown negative ones). */
export const rejectReasonOf = (code: number): RejectReason | null => {
  switch (code) {
    case RejectCode.invalid:
      return "invalid"
    case RejectCode.out_of_order:
      return "out_of_order"
    case RejectCode.duplicate:
      return "duplicate"
    case RejectCode.throttled:
      return "throttled"
    default:
      return null
  }
}

const isSpike = (w: SlidingWindow, cfg: CoreConfig, value: number): boolean => {
  if (!(cfg.spikeSigma > 0) || windowCount(w) < Math.max(1, cfg.spikeMinSamples)) return false
  const mean = windowMean(w)
  const sd = windowStdDev(w)
  // A perfectly flat window has no spread to scale by: every departure from it stands out.
  if (sd === 0) return value !== mean
  return Math.abs(value - mean) > cfg.spikeSigma * sd
}

const isTooFast = (w: SlidingWindow, limit: number | null, ts: number, value: number): boolean => {
  if (limit === null || !windowHasLast(w)) return false
  const dt = ts - windowLastTs(w)
  return dt > 0 && (Math.abs(value - windowLastValue(w)) * 1000) / dt > limit
}

/**
 * `stuckRun` is the length of the run of identical values ending at the last accepted reading
 * (see the step); this reading extends it only if it repeats that value.
 */
const isStuck = (w: SlidingWindow, stuckCount: number, value: number, stuckRun: number): boolean => {
  if (!(stuckCount > 0)) return false
  const before = windowHasLast(w) && value === windowLastValue(w) ? stuckRun : 0
  return before + 1 >= stuckCount
}

/**
 * Classifies one reading against the window of accepted ones (before it is pushed). Rejections
 * are checked in order: not finite (invalid), duplicate, outside the hard limits (invalid), out of
 * order.
 * Throttling is decided by the caller, before this.
 */
export const classify = (
  w: SlidingWindow,
  lastAcceptedTs: number | null,
  cfg: CoreConfig,
  ts: number,
  value: number,
  stuckRun: number
): number => {
  if (!Number.isFinite(value) || !Number.isFinite(ts)) return RejectCode.invalid
  // A resend of a reading already taken (a retry after a 503, a failover) is a duplicate, whatever
  // came after it: checked before the limits and the order, so the device learns it is stored.
  if (ts === lastAcceptedTs || windowContainsTs(w, ts)) return RejectCode.duplicate
  if ((cfg.hardMin !== null && value < cfg.hardMin) || (cfg.hardMax !== null && value > cfg.hardMax)) return RejectCode.invalid
  if (lastAcceptedTs !== null && ts < lastAcceptedTs - cfg.allowedSkewMs) return RejectCode.out_of_order
  let quality = 0
  if (isSpike(w, cfg, value)) quality |= SuspectFlag.spike
  if (isTooFast(w, cfg.maxRatePerSecond, ts, value)) quality |= SuspectFlag.rate_of_change
  if (isStuck(w, cfg.stuckCount, value, stuckRun)) quality |= SuspectFlag.stuck
  if ((cfg.softMin !== null && value < cfg.softMin) || (cfg.softMax !== null && value > cfg.softMax)) {
    quality |= SuspectFlag.out_of_range
  }
  return quality
}

/** The readable form of a code. */
export const decisionOf = (code: number): Decision =>
  code >= 0 ? { quality: code, reject: null } : { quality: 0, reject: rejectReasonOf(code) ?? "invalid" }

/** Object form of `classify`, for callers off the hot path and for tests. */
export const classifyReading = (
  w: SlidingWindow,
  lastAcceptedTs: number | null,
  cfg: CoreConfig,
  ts: number,
  value: number,
  stuckRun: number
): Decision => decisionOf(classify(w, lastAcceptedTs, cfg, ts, value, stuckRun))

const REASON_ORDER: ReadonlyArray<SuspectReason> = ["spike", "rate_of_change", "stuck", "out_of_range"]

/** Decodes quality flags in a stable order; unknown bits are ignored. */
export const suspectReasons = (quality: number): SuspectReason[] =>
  quality > 0 ? REASON_ORDER.filter((r) => (quality & SuspectFlag[r]) !== 0) : []
