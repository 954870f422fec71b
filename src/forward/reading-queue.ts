/**
 * A forwarding target's bounded queue of committed readings: a ring of preallocated columns, so
 * taking a committed buffer costs a copy of four numbers-or-references per reading and nothing
 * else (no object, no promise per reading). When it is full the oldest readings make room and are
 * counted as dropped: a target that comes back is sent the newest readings it missed, which is
 * what a dashboard or a SCADA wants. Plain data, no Effect.
 */
import type { CommittedReadings } from "../storage/write-buffer.js"

export type VisitReading = (sensor: string, ts: number, value: number, quality: number) => void

export class ReadingQueue {
  private readonly sensors: Array<string>
  private readonly ts: Float64Array
  private readonly values: Float64Array
  private readonly quality: Int32Array
  /** The slot of the oldest reading. */
  private head = 0
  private count = 0

  constructor(readonly capacity: number) {
    this.sensors = new Array<string>(capacity).fill("")
    this.ts = new Float64Array(capacity)
    this.values = new Float64Array(capacity)
    this.quality = new Int32Array(capacity)
  }

  get size(): number {
    return this.count
  }

  /**
   * Appends every stored row of a committed buffer (all but the `unstored` indexes), in order;
   * returns how many queued readings were dropped to make room.
   */
  offer(rows: CommittedReadings, unstored: ReadonlyArray<number>): number {
    const skip = unstored.length === 0 ? null : new Set(unstored)
    const n = rows.ts.length
    const cap = this.capacity
    let dropped = 0
    for (let i = 0; i < n; i++) {
      if (skip?.has(i) === true) continue
      let at: number
      if (this.count === cap) {
        at = this.head
        this.head = this.head + 1 === cap ? 0 : this.head + 1
        dropped++
      } else {
        at = this.head + this.count
        if (at >= cap) at -= cap
        this.count++
      }
      this.sensors[at] = rows.sensors[i]!
      this.ts[at] = rows.ts[i]!
      this.values[at] = rows.values[i]!
      this.quality[at] = rows.quality[i]!
    }
    return dropped
  }

  /** Removes up to `max` of the oldest readings, handing each to `visit` in order; returns how many. */
  drain(max: number, visit: VisitReading): number {
    const n = Math.min(max, this.count)
    for (let k = 0; k < n; k++) {
      const at = this.head
      this.head = at + 1 === this.capacity ? 0 : at + 1
      this.count--
      visit(this.sensors[at]!, this.ts[at]!, this.values[at]!, this.quality[at]!)
    }
    return n
  }

  /** Empties the queue; returns how many readings it held (they are dropped). */
  clear(): number {
    const n = this.count
    this.head = 0
    this.count = 0
    return n
  }
}
