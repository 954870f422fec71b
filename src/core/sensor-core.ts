/**
 * One sensor's mutable state and the batch step over it: throttle, classify, update the window
 * and counters, then the status machine, reading by reading in arrival order. Synchronous and
 * allocation-free per reading except when the status changes.
 */
import { classify, RejectCode } from "./classify.js"
import { createWindow, type SlidingWindow, windowCount, windowPush, windowSuspectCount } from "./sliding-window.js"
import { type WindowSnapshot, windowFromSnapshot, windowToSnapshot } from "./window-snapshot.js"
import { decideStatus, describeStatusChange } from "./status.js"
import { clampBucket, createBucket, type TokenBucket, takeToken } from "./throttle.js"
import type { CoreConfig } from "../domain/sensor-settings.js"
import type { RejectReason, SensorStatus, StatusTransition } from "../domain/reasons.js"

export const MAX_TRANSITIONS = 20


/** Cumulative since the sensor was created; `accepted` includes the suspect ones. */
export interface SensorCounters {
  accepted: number
  suspect: number
  rejected: Record<RejectReason, number>
}

export interface SensorCore {
  window: SlidingWindow
  bucket: TokenBucket
  /** Largest accepted ts. */
  lastAcceptedTs: number | null
  /** Value of the last accepted reading in arrival order. */
  lastValue: number | null
  /** Length of the run of identical values ending at the last accepted reading. */
  stuckRun: number
  consecutiveInvalid: number
  consecutiveAccepted: number
  status: SensorStatus
  statusSince: number
  statusReason: string
  counters: SensorCounters
  /** The last MAX_TRANSITIONS status changes, newest last. */
  transitions: StatusTransition[]
  /** Bumped by every step (and config change) that changed the state. */
  version: number
}

export interface SensorSnapshot {
  window: WindowSnapshot
  bucket: { tokens: number; last: number }
  lastAcceptedTs: number | null
  lastValue: number | null
  stuckRun: number
  consecutiveInvalid: number
  consecutiveAccepted: number
  status: SensorStatus
  statusSince: number
  statusReason: string
  counters: SensorCounters
  transitions: StatusTransition[]
  version: number
}

export interface ReadingBatch {
  readonly ts: Float64Array | ReadonlyArray<number>
  readonly value: Float64Array | ReadonlyArray<number>
  readonly length: number
}

const zeroRejected = (): Record<RejectReason, number> => ({ invalid: 0, out_of_order: 0, duplicate: 0, throttled: 0 })

export const createSensorCore = (cfg: CoreConfig, now: number): SensorCore => ({
  window: createWindow(cfg.windowSize),
  bucket: createBucket(cfg.throttleBurst, now),
  lastAcceptedTs: null,
  lastValue: null,
  stuckRun: 0,
  consecutiveInvalid: 0,
  consecutiveAccepted: 0,
  status: "unknown",
  statusSince: now,
  statusReason: "no readings yet",
  counters: { accepted: 0, suspect: 0, rejected: zeroRejected() },
  transitions: [],
  version: 0
})

const NO_TRANSITIONS: ReadonlyArray<StatusTransition> = Object.freeze([])

const record = (core: SensorCore, windowMs: number, ts: number, value: number, code: number): void => {
  const c = core.counters
  if (code >= 0) {
    windowPush(core.window, ts, value, windowMs, code !== 0)
    if (core.lastAcceptedTs === null || ts > core.lastAcceptedTs) core.lastAcceptedTs = ts
    // A new value starts a run of 1, not 0: stuckCount counts the reading itself (see classify).
    core.stuckRun = core.lastValue !== null && value === core.lastValue ? core.stuckRun + 1 : 1
    core.lastValue = value
    core.consecutiveAccepted++
    core.consecutiveInvalid = 0
    c.accepted++
    if (code !== 0) c.suspect++
    return
  }
  switch (code) {
    case RejectCode.invalid:
      core.consecutiveInvalid++
      core.consecutiveAccepted = 0
      c.rejected.invalid++
      return
    case RejectCode.out_of_order:
      c.rejected.out_of_order++
      return
    case RejectCode.duplicate:
      c.rejected.duplicate++
      return
    default:
      c.rejected.throttled++
  }
}

const changeStatus = (core: SensorCore, cfg: CoreConfig, to: SensorStatus, at: number): StatusTransition => {
  const input = {
    accepted: windowCount(core.window),
    suspect: windowSuspectCount(core.window),
    consecutiveInvalid: core.consecutiveInvalid,
    consecutiveAccepted: core.consecutiveAccepted
  }
  const t: StatusTransition = { from: core.status, to, at, reason: describeStatusChange(core.status, to, input, cfg) }
  core.status = to
  core.statusSince = at
  core.statusReason = t.reason
  core.transitions.push(t)
  if (core.transitions.length > MAX_TRANSITIONS) core.transitions.shift()
  return t
}

/**
 * Decides a batch in order, writing each reading's code to `out[i]` (see `classify`; throttled is
 * `RejectCode.throttled`): every reading gets a code, none is dropped silently. A missing ts or
 * value is invalid. Returns the status changes of this batch, usually a shared empty array.
 */
export const stepBatch = (
  core: SensorCore,
  cfg: CoreConfig,
  readings: ReadingBatch,
  receivedAt: number,
  out: Int32Array
): ReadonlyArray<StatusTransition> => {
  let produced: StatusTransition[] | null = null
  const n = readings.length
  for (let i = 0; i < n; i++) {
    // `+ 0` turns -0 into 0, which is all JSON can carry: a restored core must equal the saved one.
    const ts = (readings.ts[i] ?? Number.NaN) + 0
    const value = (readings.value[i] ?? Number.NaN) + 0
    // Throttled readings never reach the window or the consecutive counters.
    const code = takeToken(core.bucket, cfg.throttleRate, cfg.throttleBurst, receivedAt)
      ? classify(core.window, core.lastAcceptedTs, cfg, ts, value, core.stuckRun)
      : RejectCode.throttled
    record(core, cfg.windowMs, ts, value, code)
    out[i] = code
    const to = decideStatus(
      core.status,
      windowCount(core.window),
      windowSuspectCount(core.window),
      core.consecutiveInvalid,
      core.consecutiveAccepted,
      cfg
    )
    if (to !== null) {
      produced ??= []
      produced.push(changeStatus(core, cfg, to, receivedAt))
    }
  }
  if (n > 0) core.version++
  return produced ?? NO_TRANSITIONS
}

/** Resizes the window (keeping the newest entries) and clamps the bucket to the new burst. */
export const applyConfig = (core: SensorCore, cfg: CoreConfig): void => {
  core.window = windowFromSnapshot(cfg.windowSize, windowToSnapshot(core.window), cfg.windowMs)
  clampBucket(core.bucket, cfg.throttleBurst)
  core.version++
}

export const toSnapshot = (core: SensorCore): SensorSnapshot => ({
  window: windowToSnapshot(core.window),
  bucket: { tokens: core.bucket.tokens, last: core.bucket.last },
  lastAcceptedTs: core.lastAcceptedTs,
  lastValue: core.lastValue,
  stuckRun: core.stuckRun,
  consecutiveInvalid: core.consecutiveInvalid,
  consecutiveAccepted: core.consecutiveAccepted,
  status: core.status,
  statusSince: core.statusSince,
  statusReason: core.statusReason,
  counters: { accepted: core.counters.accepted, suspect: core.counters.suspect, rejected: { ...core.counters.rejected } },
  transitions: core.transitions.slice(),
  version: core.version
})

const finiteOr = (x: number | null, fallback: number): number => (typeof x === "number" && Number.isFinite(x) ? x : fallback)
const finiteOrNull = (x: number | null): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null)
const STATUSES: ReadonlyArray<SensorStatus> = ["unknown", "online", "degraded", "fault"]

/**
 * Restores a core saved by `toSnapshot`; continuing from it behaves exactly as the original would
 * have. Stored JSON may have turned non-finite numbers into null: such fields fall back to neutral
 * values. A bucket saved "in the future" (another node's clock) is not allowed to delay refills.
 */
export const fromSnapshot = (cfg: CoreConfig, snap: SensorSnapshot, now: number): SensorCore => {
  const r = snap.counters.rejected
  const rejected: Record<RejectReason, number> = {
    invalid: finiteOr(r.invalid, 0),
    out_of_order: finiteOr(r.out_of_order, 0),
    duplicate: finiteOr(r.duplicate, 0),
    throttled: finiteOr(r.throttled, 0)
  }
  return {
    window: windowFromSnapshot(cfg.windowSize, snap.window, cfg.windowMs),
    bucket: {
      tokens: Math.min(finiteOr(snap.bucket.tokens, cfg.throttleBurst), cfg.throttleBurst),
      last: Math.min(finiteOr(snap.bucket.last, now), now)
    },
    lastAcceptedTs: finiteOrNull(snap.lastAcceptedTs),
    lastValue: finiteOrNull(snap.lastValue),
    stuckRun: finiteOr(snap.stuckRun, 0),
    consecutiveInvalid: finiteOr(snap.consecutiveInvalid, 0),
    consecutiveAccepted: finiteOr(snap.consecutiveAccepted, 0),
    status: STATUSES.includes(snap.status) ? snap.status : "unknown",
    statusSince: finiteOr(snap.statusSince, now),
    statusReason: snap.statusReason,
    counters: { accepted: finiteOr(snap.counters.accepted, 0), suspect: finiteOr(snap.counters.suspect, 0), rejected },
    transitions: snap.transitions.slice(-MAX_TRANSITIONS),
    version: finiteOr(snap.version, 0)
  }
}

/**
 * Brings a restored core up to the readings PostgreSQL holds beyond its snapshot (stored, oldest
 * first, with their quality): each is taken again as accepted, so the window, the last accepted
 * ts and the counters match what the previous incarnation had decided. Readings the snapshot
 * already covers are skipped. Returns how many were replayed.
 */
export const replayStored = (core: SensorCore, cfg: CoreConfig, stored: ReadingBatch & { readonly quality: ReadonlyArray<number> }): number => {
  let replayed = 0
  for (let i = 0; i < stored.length; i++) {
    const ts = stored.ts[i]!
    const value = stored.value[i]!
    if (!Number.isFinite(ts) || !Number.isFinite(value)) continue
    // The window holds only ts up to the last accepted one: this one check covers it too.
    if (core.lastAcceptedTs !== null && ts <= core.lastAcceptedTs) continue
    record(core, cfg.windowMs, ts, value, Math.max(0, stored.quality[i] ?? 0))
    replayed++
  }
  if (replayed > 0) core.version++
  return replayed
}
