/** What the alert rules read of a sensor's window after a batch: counts, trend and the last reading. */
import type { WindowView } from "./rule-types.js"
import {
  type SlidingWindow,
  windowCount,
  windowLastTs,
  windowLastValue,
  windowMean,
  windowSlope,
  windowSuspectCount
} from "./sliding-window.js"

export const windowView = (w: SlidingWindow): WindowView => ({
  count: windowCount(w),
  suspect: windowSuspectCount(w),
  slopePerSecond: windowSlope(w),
  meanValue: windowMean(w),
  meanTs: w.count === 0 ? Number.NaN : w.anchor + w.meanT,
  lastTs: windowLastTs(w),
  lastValue: windowLastValue(w)
})
