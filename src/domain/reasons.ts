/** What becomes of a reading and of a sensor: the reasons and statuses every layer names. */

/** Bit flags of why an accepted reading is suspect; stored as a small integer (0 = good). */
export const SuspectFlag = {
  spike: 1,
  rate_of_change: 2,
  stuck: 4,
  out_of_range: 8
} as const
export type SuspectReason = keyof typeof SuspectFlag

export type RejectReason = "invalid" | "out_of_order" | "duplicate" | "throttled"

export type SensorStatus = "unknown" | "online" | "degraded" | "fault"

export interface StatusTransition {
  readonly from: SensorStatus
  readonly to: SensorStatus
  /** Receipt time (epoch ms) of the batch that caused it. */
  readonly at: number
  readonly reason: string
}
