/**
 * When a sensor's snapshot rides along with its readings: at most once per interval while it is
 * busy (a snapshot costs far more to write than a batch of rows), once more after the last change
 * of a burst (so an idle sensor's stored state is at most one interval behind), and always before
 * the actor stops. Plain state; the entity drives the timer.
 */
export interface SnapshotSchedule {
  lastWrittenAt: number
  /** A trailing snapshot is scheduled. */
  trailing: boolean
  /** State changed since the last snapshot was handed to the writer. */
  dirty: boolean
}

/**
 * `lastWrittenAt` sets the phase: an actor starting now with `now - phase` writes its first
 * snapshot `interval - phase` later, so sensors started together do not all write together.
 */
export const newSchedule = (lastWrittenAt = 0): SnapshotSchedule => ({ lastWrittenAt, trailing: false, dirty: false })

/** A stable phase in [0, intervalMs) for a sensor (FNV-1a of its id). */
export const phaseOf = (id: string, intervalMs: number): number => {
  if (intervalMs <= 0) return 0
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return (h >>> 0) % intervalMs
}

export type SnapshotDecision =
  /** Write the snapshot with this batch. */
  | { readonly _tag: "Now" }
  /** Skip it; schedule a trailing snapshot in `inMs`. */
  | { readonly _tag: "Later"; readonly inMs: number }
  /** Skip it; a trailing snapshot is already scheduled. */
  | { readonly _tag: "Scheduled" }

const NOW: SnapshotDecision = { _tag: "Now" }
const SCHEDULED: SnapshotDecision = { _tag: "Scheduled" }

/** Called after every state change. */
export const onChange = (s: SnapshotSchedule, now: number, intervalMs: number): SnapshotDecision => {
  s.dirty = true
  if (now - s.lastWrittenAt >= intervalMs) {
    s.lastWrittenAt = now
    s.dirty = false
    return NOW
  }
  if (s.trailing) return SCHEDULED
  s.trailing = true
  return { _tag: "Later", inMs: intervalMs - (now - s.lastWrittenAt) }
}

/** The trailing timer fired: whether there is anything to write. */
export const onTrailing = (s: SnapshotSchedule, now: number): boolean => {
  s.trailing = false
  if (!s.dirty) return false
  s.dirty = false
  s.lastWrittenAt = now
  return true
}
