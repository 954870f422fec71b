/**
 * A window as JSON-safe content, and back. `prev` and `stats` make a restore continue
 * bit-identically: the same later decisions as a window that was never saved.
 */
import { createWindow, evictOlderThan, SUSPECT, type SlidingWindow, windowPush } from "./sliding-window.js"

/** JSON-safe window content, oldest first. `prev` and `stats` make a restore continue bit-identically. */
export interface WindowSnapshot {
  ts: number[]
  values: number[]
  suspect: number[]
  prev?: { ts: number; value: number }
  stats?: number[]
}

const STATS_FIELDS = 8

export const windowToSnapshot = (w: SlidingWindow): WindowSnapshot => {
  const ts: number[] = []
  const values: number[] = []
  const suspect: number[] = []
  for (let k = 0, s = w.head; k < w.count; k++, s = s + 1 === w.capacity ? 0 : s + 1) {
    ts.push(w.ts[s]!)
    values.push(w.values[s]!)
    suspect.push(w.flags[s]! & SUSPECT)
  }
  const snap: WindowSnapshot = { ts, values, suspect }
  if (w.pushes === 2) snap.prev = { ts: w.prevTs, value: w.prevValue }
  const stats = [w.anchor, w.meanV, w.m2V, w.meanT, w.m2T, w.cTV, w.errV, w.errT]
  if (w.count > 0 && w.huge === 0 && stats.every(Number.isFinite)) snap.stats = stats
  return snap
}

/**
 * Rebuilds a window from its snapshot, keeping the newest `capacity` entries. The content is
 * taken as is (it already obeyed the time bound when saved), then `windowMs` is applied against
 * the newest entry so a changed config takes effect at once. When nothing was dropped the saved
 * moments are adopted, so a restored sensor continues exactly as if it had never been saved.
 */
export const windowFromSnapshot = (capacity: number, snap: WindowSnapshot, windowMs: number): SlidingWindow => {
  const w = createWindow(capacity)
  const n = Math.min(snap.ts.length, snap.values.length)
  for (let i = Math.max(0, n - w.limit); i < n; i++) {
    windowPush(w, snap.ts[i]!, snap.values[i]!, 0, (snap.suspect[i] ?? 0) !== 0)
  }
  if (windowMs > 0 && w.count > 0) evictOlderThan(w, w.lastTs - windowMs)
  const prev = snap.prev
  if (prev !== undefined && w.pushes > 0 && Number.isFinite(prev.ts) && Number.isFinite(prev.value)) {
    w.prevTs = prev.ts
    w.prevValue = prev.value
    w.pushes = 2
  }
  const st = snap.stats
  if (st?.length === STATS_FIELDS && st.every(Number.isFinite) && w.count === n && w.huge === 0) {
    ;[w.anchor, w.meanV, w.m2V, w.meanT, w.m2T, w.cTV, w.errV, w.errT] = [st[0]!, st[1]!, st[2]!, st[3]!, st[4]!, st[5]!, st[6]!, st[7]!]
  }
  return w
}
