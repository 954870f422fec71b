/**
 * One group-commit unit of the writer: columnar rows plus the latest state snapshot of every sensor
 * that wrote into it. Every caller whose rows are in it waits on the same `done`, so durability costs
 * one promise per flush, not one per reading.
 */
import { Schema } from "effect"
import { Commit, type WaiterFailed } from "./commit.js"
import type { SensorAlertEvent } from "../domain/alert-event.js"

/** The buffer was not committed within the ack timeout; its rows stay queued and are still written. */
export class CommitTimeout extends Schema.TaggedError<CommitTimeout>()("CommitTimeout", {
  waitedMs: Schema.Number
}) {}

/**
 * How a buffer's commit ended: the indexes (into the buffer) of rows PostgreSQL refused for their
 * data and that were therefore not stored; every other row is committed. Almost always empty.
 */
export interface Flushed {
  readonly unstored: ReadonlyArray<number>
}
export const ALL_STORED: Flushed = Object.freeze({ unstored: Object.freeze([]) })

/** A sensor's state as the writer persists it beside its readings. */
export interface SnapshotSource {
  readonly sensorKey: number
  /**
   * Taken when the buffer is sealed, so it reflects exactly the rows sealed so far: `state` is a
   * fresh JSON-safe object (serialized once, with the statement's other parameters).
   */
  readonly snapshot: () => { readonly version: number; readonly lastSeen: number; readonly state: object }
}

export interface SealedSnapshot {
  readonly k: number
  readonly v: number
  readonly ls: number
  readonly s: object
}

/** An alert event a sensor raised, written to `alert_outbox` in the same statement as the readings. */
export interface OutboxEvent {
  /** The notifier entity it is addressed to. */
  readonly n: string
  /** The event, JSON-safe as it stands. */
  readonly e: SensorAlertEvent
}

/** An alert event now in `alert_outbox` under `id`. */
export interface CommittedAlert {
  readonly id: number
  readonly notifier: string
  readonly event: SensorAlertEvent
}

/**
 * The readings of a committed buffer, by column: row i is `sensors[i]` (its id inside the node),
 * `ts[i]`, `values[i]`, `quality[i]` (0 ok, else suspect flags), as stored. Lent to the writer's
 * readings listener for the length of its call: it copies what it keeps.
 */
export interface CommittedReadings {
  readonly sensors: ReadonlyArray<string>
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  readonly quality: ReadonlyArray<number>
}

/** What a buffer's statement did: which rows it could not store, and the alert events it committed. */
export interface FlushOutcome {
  readonly flushed: Flushed
  readonly alerts: ReadonlyArray<CommittedAlert>
}

export class WriteBuffer implements CommittedReadings {
  readonly keys: number[] = []
  /** Each row's sensor id, beside its key: not written (the key is), read by the readings listener after the commit. */
  readonly sensors: string[] = []
  readonly ts: number[] = []
  readonly values: number[] = []
  readonly quality: number[] = []
  readonly dirty = new Map<number, SnapshotSource>()
  readonly alerts: OutboxEvent[] = []
  snapshots: ReadonlyArray<SealedSnapshot> = []
  openedAt = 0
  /** When its statement was first sent (null until then). */
  startedAt: number | null = null
  /** Set once its statement is done; the writer then completes buffers in seal order. */
  outcome: FlushOutcome | null = null

  readonly done: Commit

  constructor(waiterFailed?: WaiterFailed) {
    this.done = new Commit(waiterFailed)
  }

  get rows(): number {
    return this.keys.length
  }

  get isEmpty(): boolean {
    return this.keys.length === 0 && this.dirty.size === 0 && this.alerts.length === 0
  }

  /** Freezes the snapshots; after this the buffer only waits for its commit. */
  seal(): void {
    const out: Array<SealedSnapshot> = []
    for (const source of this.dirty.values()) {
      const snap = source.snapshot()
      out.push({ k: source.sensorKey, v: snap.version, ls: snap.lastSeen, s: snap.state })
    }
    // A fixed lock order, so that two writers never deadlock on sensor_state rows.
    out.sort((a, b) => a.k - b.k)
    this.snapshots = out
    this.dirty.clear()
  }
}

/** Synchronous, so that sealing a buffer and opening the next never yields between the two. */
export const makeBuffer = (now: number, waiterFailed?: WaiterFailed): WriteBuffer => {
  const buffer = new WriteBuffer(waiterFailed)
  buffer.openedAt = now
  return buffer
}
