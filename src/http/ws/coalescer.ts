/**
 * Gathers readings of one sensor that arrive in different frames (from one device or many) into
 * one batch, so that a device sending one reading per frame still costs one actor step per
 * batch, not per reading, and every batch due at once goes to the gateway as one request. A sensor's batch leaves when it holds `maxReadings` readings or when the
 * window that opened with the first waiting reading closes; `windowMs = 0` sends each frame's
 * readings at once (per-frame mode). Every reading keeps a reference to its frame's ticket and its
 * index in that frame, so the answer finds its way back. No Effect here: the caller dispatches.
 */
import { noteCode, noteNotPermitted, noteTooOld, type Verdicts } from "../../ingest/verdicts.js"
import type { InternalId } from "../../domain/tenancy.js"
import type { SensorGroup } from "../ingest-body.js"

/** A frame's group of one sensor, named by its id inside the node. */
export type InternalGroup = Omit<SensorGroup, "sensor"> & { readonly sensor: InternalId }

export interface BatchFailure {
  readonly code: "unavailable"
  readonly message: string
}

/** Whoever sent the frame: told once, when the last of its readings is answered. */
export interface TicketOwner {
  readonly finish: (ticket: FrameTicket) => void
}

/** One frame waiting for the answers of its readings. */
export interface FrameTicket extends Verdicts {
  readonly owner: TicketOwner
  readonly seq: number
  readonly receivedAt: number
  remaining: number
  failure: BatchFailure | null
}

export const newTicket = (owner: TicketOwner, seq: number, receivedAt: number, readings: number): FrameTicket => ({
  owner,
  seq,
  receivedAt,
  remaining: readings,
  accepted: 0,
  suspect: [],
  rejected: [],
  failure: null
})

/** Readings of one sensor bound for one actor message, each with the frame it came from. */
export interface SensorBatch {
  readonly sensor: InternalId
  readonly ts: Array<number>
  readonly values: Array<number>
  readonly tickets: Array<FrameTicket>
  readonly indexes: Array<number>
  /** Receipt time of the oldest reading in the batch. */
  readonly receivedAt: number
}

/** Runs `f` in `ms` milliseconds; returns what cancels it. */
export type Schedule = (f: () => void, ms: number) => () => void

const nodeSchedule: Schedule = (f, ms) => {
  const handle = setTimeout(f, ms)
  return () => clearTimeout(handle)
}

export interface CoalescerOptions {
  readonly windowMs: number
  readonly maxReadings: number
}

export class Coalescer {
  private readonly open = new Map<string, SensorBatch>()
  private cancelTimer: (() => void) | null = null

  constructor(
    private readonly options: CoalescerOptions,
    /** Hands batches to the gateway: all that are due at once, as one request. */
    private readonly dispatch: (batches: ReadonlyArray<SensorBatch>) => void,
    private readonly schedule: Schedule = nodeSchedule
  ) {}

  /** Adds one frame's readings of one sensor. */
  add(group: InternalGroup, ticket: FrameTicket): void {
    let batch = this.open.get(group.sensor)
    if (batch === undefined) {
      batch = { sensor: group.sensor, ts: [], values: [], tickets: [], indexes: [], receivedAt: ticket.receivedAt }
      this.open.set(group.sensor, batch)
    }
    for (let i = 0; i < group.ts.length; i++) {
      batch.ts.push(group.ts[i]!)
      batch.values.push(group.values[i]!)
      batch.tickets.push(ticket)
      batch.indexes.push(group.index[i]!)
    }
    if (batch.ts.length >= this.options.maxReadings) {
      this.open.delete(group.sensor)
      this.dispatch([batch])
    }
  }

  /** Called after each frame's readings are added: starts the window, or sends at once in per-frame mode. */
  endFrame(): void {
    if (this.open.size === 0) return
    if (this.options.windowMs === 0) this.flush()
    else if (this.cancelTimer === null) this.cancelTimer = this.schedule(() => this.flush(), this.options.windowMs)
  }

  /** Sends every waiting batch now. */
  flush(): void {
    if (this.cancelTimer !== null) {
      this.cancelTimer()
      this.cancelTimer = null
    }
    if (this.open.size === 0) return
    const batches = Array.from(this.open.values())
    this.open.clear()
    this.dispatch(batches)
  }

  /** Readings waiting for their window to close. */
  waiting(): number {
    let n = 0
    for (const batch of this.open.values()) n += batch.ts.length
    return n
  }
}

/** Hands each reading's answer to its frame; a frame's owner hears once, when its last reading is answered. */
export const settle = (batch: SensorBatch, codes: ArrayLike<number>): void => {
  for (let i = 0; i < batch.tickets.length; i++) {
    const ticket = batch.tickets[i]!
    noteCode(ticket, batch.indexes[i]!, batch.sensor, codes[i] ?? -1)
    if (--ticket.remaining === 0) ticket.owner.finish(ticket)
  }
}

/** The edge refused a group outside the device key's scope: its readings are answered as `not_permitted`. */
export const refuseGroup = (ticket: FrameTicket, group: SensorGroup): void => {
  for (const index of group.index) {
    noteNotPermitted(ticket, index, group.sensor)
    if (--ticket.remaining === 0) ticket.owner.finish(ticket)
  }
}

/** The edge refused one reading before its sensor saw it (older than raw retention keeps): `too_old`. */
export const refuseTooOld = (ticket: FrameTicket, index: number, sensor: string): void => {
  noteTooOld(ticket, index, sensor)
  if (--ticket.remaining === 0) ticket.owner.finish(ticket)
}

/** The batch could not be decided: every frame with a reading in it answers with an error. */
export const fail = (batch: SensorBatch, failure: BatchFailure): void => {
  for (const ticket of batch.tickets) {
    ticket.failure = failure
    if (--ticket.remaining === 0) ticket.owner.finish(ticket)
  }
}
