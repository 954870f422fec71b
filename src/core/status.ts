/**
 * The sensor status machine:
 *
 *   unknown  -> online    first accepted reading
 *   online   -> degraded  suspect share of the window > degradedRatio (with >= 10 readings)
 *   degraded -> online    suspect share <= degradedRatio / 2 (hysteresis, so it does not flap)
 *   any      -> fault     faultInvalidCount consecutive invalid readings
 *   fault    -> online | degraded  after FAULT_RECOVERY_ACCEPTED consecutive accepted readings
 *
 * `decideStatus` is the allocation-free form the step calls per reading; `nextStatus` adds the
 * human reason and is called only when something changed.
 */
import type { CoreConfig } from "../domain/sensor-settings.js"
import type { SensorStatus } from "../domain/reasons.js"

export const FAULT_RECOVERY_ACCEPTED = 5
/** Fewer readings than this say too little about the suspect share to call a sensor degraded. */
export const DEGRADED_MIN_SAMPLES = 10

export type StatusConfig = Pick<CoreConfig, "degradedRatio" | "faultInvalidCount">

export interface StatusInput {
  /** Readings in the window. */
  readonly accepted: number
  /** Suspect readings in the window. */
  readonly suspect: number
  readonly consecutiveInvalid: number
  readonly consecutiveAccepted: number
}

const shareOf = (accepted: number, suspect: number): number => (accepted > 0 ? suspect / accepted : 0)

const shouldDegrade = (accepted: number, suspect: number, cfg: StatusConfig): boolean =>
  accepted >= DEGRADED_MIN_SAMPLES && shareOf(accepted, suspect) > cfg.degradedRatio

const faultThreshold = (cfg: StatusConfig): number => Math.max(1, cfg.faultInvalidCount)

/** The status to move to, or null to stay. */
export const decideStatus = (
  current: SensorStatus,
  accepted: number,
  suspect: number,
  consecutiveInvalid: number,
  consecutiveAccepted: number,
  cfg: StatusConfig
): SensorStatus | null => {
  if (current === "fault") {
    if (consecutiveAccepted < FAULT_RECOVERY_ACCEPTED) return null
    return shouldDegrade(accepted, suspect, cfg) ? "degraded" : "online"
  }
  if (consecutiveInvalid >= faultThreshold(cfg)) return "fault"
  switch (current) {
    case "unknown":
      return accepted > 0 ? "online" : null
    case "online":
      return shouldDegrade(accepted, suspect, cfg) ? "degraded" : null
    case "degraded":
      return shareOf(accepted, suspect) <= cfg.degradedRatio / 2 ? "online" : null
  }
}

const percent = (share: number): string => `${Math.round(share * 1000) / 10}%`

/** Short human reason for a change `decideStatus` answered. */
export const describeStatusChange = (
  from: SensorStatus,
  to: SensorStatus,
  input: StatusInput,
  cfg: StatusConfig
): string => {
  const share = percent(shareOf(input.accepted, input.suspect))
  if (to === "fault") return `${input.consecutiveInvalid} consecutive invalid readings`
  if (from === "fault") return to === "degraded" ? `recovered; suspect share ${share} > ${percent(cfg.degradedRatio)}` : "recovered"
  if (from === "unknown") return "first reading"
  if (to === "degraded") return `suspect share ${share} > ${percent(cfg.degradedRatio)}`
  return `suspect share ${share} <= ${percent(cfg.degradedRatio / 2)}`
}

export const nextStatus = (
  current: SensorStatus,
  input: StatusInput,
  cfg: StatusConfig
): { status: SensorStatus; reason: string } | null => {
  const to = decideStatus(current, input.accepted, input.suspect, input.consecutiveInvalid, input.consecutiveAccepted, cfg)
  return to === null ? null : { status: to, reason: describeStatusChange(current, to, input, cfg) }
}
