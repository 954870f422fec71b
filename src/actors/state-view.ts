/** The sensor's live state as callers see it (`GetState`). */
import {
  windowCount,
  windowMax,
  windowMean,
  windowMin,
  windowRatePerSecond,
  windowStdDev,
  windowSuspectCount
} from "../core/sliding-window.js"
import type { SensorCore } from "../core/sensor-core.js"
import type { SensorStateView } from "./protocol.js"

const orNull = (n: number): number | null => (Number.isFinite(n) ? n : null)

export const toStateView = (sensor: string, core: SensorCore): SensorStateView => {
  const w = core.window
  const count = windowCount(w)
  return {
    sensor,
    status: core.status,
    statusSince: core.status === "unknown" ? null : core.statusSince,
    statusReason: core.statusReason,
    lastTs: core.lastAcceptedTs,
    lastValue: core.lastValue,
    counters: {
      accepted: core.counters.accepted,
      suspect: core.counters.suspect,
      rejected: { ...core.counters.rejected }
    },
    window: {
      count,
      mean: count === 0 ? null : orNull(windowMean(w)),
      stddev: count === 0 ? null : orNull(windowStdDev(w)),
      min: orNull(windowMin(w)),
      max: orNull(windowMax(w)),
      ratePerSecond: windowRatePerSecond(w),
      suspectShare: count === 0 ? 0 : windowSuspectCount(w) / count
    },
    transitions: core.transitions.map((t) => ({ ...t })),
    version: core.version
  }
}
