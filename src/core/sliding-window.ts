/**
 * The last N readings (and/or the last T ms) of one sensor, with O(1) statistics. Ring buffers of
 * typed arrays, mutated in place: a push allocates nothing.
 *
 * Duplicate lookups: while every entry arrived no earlier than the one before it (the normal
 * case), the ring is sorted by time and a lookup is a binary search. Only a window that holds an
 * out-of-order entry keeps a Map from ts to count, built when the first such entry arrives and
 * dropped once the last one has left. A Map of 60 boxed timestamps was ~3 KB of a full window's
 * ~4 KB of heap, on every resident sensor.
 *
 * Mean, variance and slope: window-moments.ts. Snapshots: window-snapshot.ts.
 */
import { addMoments, isHuge, type Moments, recompute, removeMoments, resetMoments } from "./window-moments.js"

/** Guards the typed-array allocation; configs cap the window at 10_000. */
const MAX_CAPACITY = 1_000_000
/** Flag bit of a suspect entry (the snapshot keeps it). */
export const SUSPECT = 1
const DESCENT = 2

export interface SlidingWindow extends Moments {
  /** The configured size: at most this many entries. */
  readonly limit: number
  /** Per entry: bit SUSPECT, and bit DESCENT when its ts is below the entry before it. */
  flags: Uint8Array
  suspect: number
  /** Entries with |ts| or |value| beyond HUGE; while > 0 the moments are stale. */
  huge: number
  /** Entries marked DESCENT: while 0 the ring is sorted by ts. */
  descents: number
  /** ts -> entries with it; only while `descents > 0`, null otherwise. */
  tsCount: Map<number, number> | null
  /** Monotonic deques of slots (rings of `capacity`): the front is the slot of the min / max. */
  minQ: Int32Array
  maxQ: Int32Array
  minHead: number; minLen: number; maxHead: number; maxLen: number
  /** The last two pushes (0..2 known), kept even after they leave the window. */
  pushes: number
  lastTs: number; lastValue: number; prevTs: number; prevValue: number
}

/** Slots a new window starts with: a node holds hundreds of thousands of windows, most of them young or small. */
const INITIAL_SLOTS = 8

/** One allocation for the five rings: 8 + 8 + 4 + 4 + 1 bytes a slot. */
const allocate = (w: Pick<SlidingWindow, "capacity" | "ts" | "values" | "flags" | "minQ" | "maxQ">, cap: number): void => {
  const buffer = new ArrayBuffer(cap * 25)
  w.capacity = cap
  w.ts = new Float64Array(buffer, 0, cap)
  w.values = new Float64Array(buffer, cap * 8, cap)
  w.minQ = new Int32Array(buffer, cap * 16, cap)
  w.maxQ = new Int32Array(buffer, cap * 20, cap)
  w.flags = new Uint8Array(buffer, cap * 24, cap)
}

export const createWindow = (size: number): SlidingWindow => {
  const limit = Number.isFinite(size) ? Math.min(MAX_CAPACITY, Math.max(1, Math.floor(size))) : 1
  const w: SlidingWindow = {
    limit, capacity: 0, ts: EMPTY_F64, values: EMPTY_F64, flags: EMPTY_U8,
    head: 0, count: 0, suspect: 0, huge: 0, descents: 0, tsCount: null,
    minQ: EMPTY_I32, maxQ: EMPTY_I32, minHead: 0, minLen: 0, maxHead: 0, maxLen: 0,
    anchor: 0, meanV: 0, m2V: 0, meanT: 0, m2T: 0, cTV: 0, errV: 0, errT: 0,
    pushes: 0, lastTs: Number.NaN, lastValue: Number.NaN, prevTs: Number.NaN, prevValue: Number.NaN
  }
  allocate(w, Math.min(limit, INITIAL_SLOTS))
  return w
}

const EMPTY_F64 = new Float64Array(0)
const EMPTY_I32 = new Int32Array(0)
const EMPTY_U8 = new Uint8Array(0)

/** The ts index of the entries now in the ring (built when the first out-of-order entry arrives). */
const indexOf = (w: SlidingWindow): Map<number, number> => {
  const index = new Map<number, number>()
  for (let k = 0, s = w.head; k < w.count; k++, s = s + 1 === w.capacity ? 0 : s + 1) {
    index.set(w.ts[s]!, (index.get(w.ts[s]!) ?? 0) + 1)
  }
  return index
}

/**
 * Doubles the rings (up to `limit`), unrolling them so the oldest entry is slot 0; the deques keep
 * their order with their slots renumbered. Content and moments are untouched, so growing never
 * changes a decision.
 */
const grow = (w: SlidingWindow): void => {
  const old = { ts: w.ts, values: w.values, flags: w.flags, minQ: w.minQ, maxQ: w.maxQ }
  const oldCap = w.capacity
  const renumber = (slot: number) => (slot - w.head + oldCap) % oldCap
  allocate(w, Math.min(w.limit, oldCap * 2))
  for (let k = 0; k < w.count; k++) {
    const s = (w.head + k) % oldCap
    w.ts[k] = old.ts[s]!
    w.values[k] = old.values[s]!
    w.flags[k] = old.flags[s]!
  }
  for (let k = 0; k < w.minLen; k++) w.minQ[k] = renumber(old.minQ[(w.minHead + k) % oldCap]!)
  for (let k = 0; k < w.maxLen; k++) w.maxQ[k] = renumber(old.maxQ[(w.maxHead + k) % oldCap]!)
  w.head = 0
  w.minHead = 0
  w.maxHead = 0
}

const evictOldest = (w: SlidingWindow): void => {
  const slot = w.head, ts = w.ts[slot]!, value = w.values[slot]!
  const index = w.tsCount
  if (index !== null) {
    const seen = index.get(ts) ?? 0
    if (seen <= 1) index.delete(ts)
    else index.set(ts, seen - 1)
  }
  // The oldest entry, if still in a deque, can only be at its front.
  if (w.minLen > 0 && w.minQ[w.minHead] === slot) {
    w.minHead = w.minHead + 1 === w.capacity ? 0 : w.minHead + 1
    w.minLen--
  }
  if (w.maxLen > 0 && w.maxQ[w.maxHead] === slot) {
    w.maxHead = w.maxHead + 1 === w.capacity ? 0 : w.maxHead + 1
    w.maxLen--
  }
  if ((w.flags[slot]! & SUSPECT) !== 0) w.suspect--
  w.head = w.head + 1 === w.capacity ? 0 : w.head + 1
  w.count--
  // The pair (oldest, next) is gone, so the next entry's descent no longer breaks the order.
  if (w.count > 0 && (w.flags[w.head]! & DESCENT) !== 0) {
    w.flags[w.head] = w.flags[w.head]! & SUSPECT
    if (--w.descents === 0) w.tsCount = null
  }
  if (w.count === 0) {
    w.huge = 0
    resetMoments(w, 0)
  } else if (isHuge(ts, value)) {
    w.huge--
    if (w.huge === 0) recompute(w)
  } else if (w.huge === 0) {
    removeMoments(w, ts - w.anchor, value)
  }
}

/** Drops the entries older than `cutoff`. */
export const evictOlderThan = (w: SlidingWindow, cutoff: number): void => {
  while (w.count > 0 && w.ts[w.head]! < cutoff) evictOldest(w)
}

/**
 * Appends a reading. Capacity is enforced before the time bound so that afterwards the oldest
 * entry is never older than `ts - windowMs` (a restore relies on that). Non-finite input is
 * ignored (returns false): the classifier rejects it before it gets here.
 */
export const windowPush = (w: SlidingWindow, tsIn: number, valueIn: number, windowMs: number, suspect: boolean): boolean => {
  if (!Number.isFinite(tsIn) || !Number.isFinite(valueIn)) return false
  // -0 becomes 0: JSON cannot carry it, and a restored window must equal the saved one bit for bit.
  const ts = tsIn === 0 ? 0 : tsIn
  const value = valueIn === 0 ? 0 : valueIn
  if (w.count === w.capacity) {
    if (w.capacity < w.limit) grow(w)
    else evictOldest(w)
  }
  if (windowMs > 0) evictOlderThan(w, ts - windowMs)
  const cap = w.capacity
  const slot = (w.head + w.count) % cap
  const descent = w.count > 0 && ts < w.ts[(w.head + w.count - 1) % cap]!
  if (descent && w.descents++ === 0) w.tsCount = indexOf(w)
  w.ts[slot] = ts
  w.values[slot] = value
  w.flags[slot] = (suspect ? SUSPECT : 0) | (descent ? DESCENT : 0)
  if (suspect) w.suspect++
  if (w.tsCount !== null) w.tsCount.set(ts, (w.tsCount.get(ts) ?? 0) + 1)
  while (w.minLen > 0 && w.values[w.minQ[(w.minHead + w.minLen - 1) % cap]!]! >= value) w.minLen--
  w.minQ[(w.minHead + w.minLen) % cap] = slot
  w.minLen++
  while (w.maxLen > 0 && w.values[w.maxQ[(w.maxHead + w.maxLen - 1) % cap]!]! <= value) w.maxLen--
  w.maxQ[(w.maxHead + w.maxLen) % cap] = slot
  w.maxLen++
  w.count++
  if (w.count === 1) resetMoments(w, ts)
  if (isHuge(ts, value)) w.huge++
  else if (w.huge === 0) addMoments(w, ts - w.anchor, value)
  w.prevTs = w.lastTs
  w.prevValue = w.lastValue
  w.lastTs = ts
  w.lastValue = value
  if (w.pushes < 2) w.pushes++
  return true
}

export const windowCount = (w: SlidingWindow): number => w.count
export const windowSuspectCount = (w: SlidingWindow): number => w.suspect
export const windowMin = (w: SlidingWindow): number => (w.count === 0 ? Number.NaN : w.values[w.minQ[w.minHead]!]!)
export const windowMax = (w: SlidingWindow): number => (w.count === 0 ? Number.NaN : w.values[w.maxQ[w.maxHead]!]!)

/** Identical values are answered exactly from the deques, so "stddev 0, value != mean" is reliable. */
export const windowMean = (w: SlidingWindow): number => {
  if (w.count === 0 || w.huge > 0) return Number.NaN
  const min = windowMin(w)
  return min === windowMax(w) ? min : w.meanV
}

/** Population variance; 0 below two readings; NaN while a value beyond ±1e150 is in the window. */
export const windowVariance = (w: SlidingWindow): number => {
  if (w.count < 2) return 0
  if (w.huge > 0) return Number.NaN
  if (windowMin(w) === windowMax(w)) return 0
  return Math.max(0, w.m2V / w.count)
}

export const windowStdDev = (w: SlidingWindow): number => Math.sqrt(windowVariance(w))

/** Least-squares slope of value over time, per second; 0 below two readings or without time spread. */
export const windowSlope = (w: SlidingWindow): number => {
  if (w.count < 2) return 0
  if (w.huge > 0) return Number.NaN
  if (!(w.m2T > 0) || windowMin(w) === windowMax(w)) return 0
  return (w.cTV / w.m2T) * 1000
}

/** Rate between the last two pushed readings, per second; 0 with fewer than two or no time between. */
export const windowRatePerSecond = (w: SlidingWindow): number => {
  if (w.pushes < 2) return 0
  const dt = w.lastTs - w.prevTs
  return dt === 0 ? 0 : ((w.lastValue - w.prevValue) * 1000) / dt
}

/** O(1) with the index, O(log n) over the sorted ring without it. */
export const windowContainsTs = (w: SlidingWindow, ts: number): boolean => {
  if (w.tsCount !== null) return w.tsCount.has(ts)
  let lo = 0, hi = w.count - 1
  if (hi < 0 || ts > w.ts[(w.head + hi) % w.capacity]! || ts < w.ts[w.head]!) return false
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const at = w.ts[(w.head + mid) % w.capacity]!
    if (at === ts) return true
    if (at < ts) lo = mid + 1
    else hi = mid - 1
  }
  return false
}
export const windowHasLast = (w: SlidingWindow): boolean => w.pushes > 0
/** NaN before the first push. */
export const windowLastValue = (w: SlidingWindow): number => w.lastValue
export const windowLastTs = (w: SlidingWindow): number => w.lastTs
