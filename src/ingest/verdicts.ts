/**
 * What the sender is told about its readings, whatever the edge: each reading's code read into
 * accepted / suspect (with reasons) / rejected (with the reason), readings outside a device key's
 * scope rejected as `not_permitted`, readings older than raw retention keeps as `too_old`, every one counted once in `readings_total` by outcome, and the
 * lists in request order. HTTP builds one per request, WebSocket one per frame.
 */
import type { RejectReason, SuspectReason } from "../domain/reasons.js"
import { describeCode } from "../actors/protocol.js"
import type { Outcome } from "../telemetry/metrics.js"

export interface SuspectItem {
  readonly index: number
  readonly sensor: string
  readonly reasons: ReadonlyArray<SuspectReason>
}
export interface RejectedItem {
  readonly index: number
  readonly sensor: string
  /**
   * The actor's reason, the edge's `not_permitted` (outside the device key's sensors) or `too_old`
   * (older than raw retention keeps), or the writer's `unstorable`.
   */
  readonly reason: RejectReason | "not_permitted" | "too_old" | "unstorable"
}

export interface Verdicts {
  /** Good and suspect readings. */
  accepted: number
  readonly suspect: Array<SuspectItem>
  readonly rejected: Array<RejectedItem>
}

export const newVerdicts = (): Verdicts => ({ accepted: 0, suspect: [], rejected: [] })

/** Notes one reading's code (0 = good). */
export const noteCode = (v: Verdicts, index: number, sensor: string, code: number): void => {
  if (code === 0) {
    v.accepted++
    return
  }
  const described = describeCode(code)
  if (described._tag === "Suspect") {
    v.accepted++
    v.suspect.push({ index, sensor, reasons: described.reasons })
  } else v.rejected.push({ index, sensor, reason: described.reason })
}

/** Notes a reading outside the device key's scope. */
export const noteNotPermitted = (v: Verdicts, index: number, sensor: string): void => {
  v.rejected.push({ index, sensor, reason: "not_permitted" })
}

/** Notes a reading older than raw retention keeps (see ingest/too-old.ts). */
export const noteTooOld = (v: Verdicts, index: number, sensor: string): void => {
  v.rejected.push({ index, sensor, reason: "too_old" })
}

/** Counts every noted reading by outcome (once, when the answer is sent) and puts the lists in request order. */
export const closeVerdicts = (v: Verdicts, counters: Readonly<Record<Outcome, { inc: (n?: number) => void }>>): void => {
  const good = v.accepted - v.suspect.length
  if (good > 0) counters.good.inc(good)
  if (v.suspect.length > 0) counters.suspect.inc(v.suspect.length)
  for (const r of v.rejected) counters[r.reason].inc()
  if (v.suspect.length > 1) v.suspect.sort((a, b) => a.index - b.index)
  if (v.rejected.length > 1) v.rejected.sort((a, b) => a.index - b.index)
}
