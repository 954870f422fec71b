/**
 * Plain data of the sensor's pure core. No Effect, no I/O: the host owns one `SensorCore` per
 * sensor and steps it synchronously per batch.
 */
import type { RejectReason } from "../domain/reasons.js"

/** Outcome of one reading. `quality` 0 is good, otherwise a SuspectFlag bit set; `reject` set means rejected. */
export interface Decision {
  readonly quality: number
  readonly reject: RejectReason | null
}
