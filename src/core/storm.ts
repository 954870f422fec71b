/**
 * Storm control for one notifier's paging channels: at most `limit` notifications per window (a
 * minute by default); the rest are counted and folded into one summary when the window ends
 * ("and 37 more alerts on site-7"). Plain data, no timers: the caller asks `closeWindow` when the
 * window ends.
 */

export interface StormWindow {
  startedAt: number
  sent: number
  suppressed: number
}

export const createStormWindow = (now: number): StormWindow => ({ startedAt: now, sent: 0, suppressed: 0 })

/** Whether one more notification may go out now; counts it either way. */
export const admit = (w: StormWindow, limit: number, windowMs: number, now: number): boolean => {
  if (now - w.startedAt >= windowMs && w.suppressed === 0) {
    w.startedAt = now
    w.sent = 0
  }
  if (w.sent < limit) {
    w.sent++
    return true
  }
  w.suppressed++
  return false
}

/** Ends the window: returns how many were suppressed in it (0: no summary) and starts the next. */
export const closeWindow = (w: StormWindow, now: number): { readonly suppressed: number; readonly from: number } => {
  const out = { suppressed: w.suppressed, from: w.startedAt }
  w.startedAt = now
  w.sent = 0
  w.suppressed = 0
  return out
}

export const summaryMessage = (suppressed: number, notifier: string): string =>
  `and ${suppressed} more alert${suppressed === 1 ? "" : "s"} on ${notifier}`
