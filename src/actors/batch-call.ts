/**
 * The answers of a set of sensor batches handed to shard hosts: each batch is decided (now, or once
 * its sensor is loaded) or fails; `settled` resumes when all are, and `committed` then waits once
 * for every commit they need (usually one ticket for the whole set: tickets are the writer's
 * buffers) and answers readings PostgreSQL refused as unstorable.
 */
import { Cause, Effect, Exit, Option } from "effect"
import type { CommitTicket, Flushed } from "../storage/writer.js"
import { UNSTORABLE_CODE } from "./protocol.js"
import type { BatchSink, HostFailure } from "./host-ports.js"

export type BatchOutcome =
  | { readonly _tag: "Decided"; readonly codes: Int32Array }
  | HostFailure
  | { readonly _tag: "NotDurableYet"; readonly waitedMs: number }
  /** The message to the shard's owner died on the way (its node left, or released the shard mid-flight). */
  | { readonly _tag: "Unreachable"; readonly message: string }

/** The batch's rows went into the buffer from `firstRow` on, one per accepted reading in order. */
const markUnstored = (codes: Int32Array, flushed: Flushed, firstRow: number): void => {
  if (flushed.unstored.length === 0) return
  const refused = new Set(flushed.unstored)
  let row = firstRow
  for (let i = 0; i < codes.length; i++) {
    if (codes[i]! < 0) continue
    if (refused.has(row)) codes[i] = UNSTORABLE_CODE
    row++
  }
}

export class BatchCall implements BatchSink<CommitTicket> {
  readonly outcomes: Array<BatchOutcome | null>
  private readonly tickets: Array<CommitTicket | null>
  private readonly firstRows: Array<number>
  private remaining: number
  private wake: (() => void) | null = null
  /** Every batch's codes, back to back: one allocation per call instead of one per sensor batch. */
  private readonly codes: Int32Array
  private codesUsed = 0

  /** `readings`: how many readings the batches carry in all (0 when unknown). */
  constructor(readonly size: number, readings = 0) {
    this.codes = new Int32Array(readings)
    this.outcomes = new Array<BatchOutcome | null>(size).fill(null)
    this.tickets = new Array<CommitTicket | null>(size).fill(null)
    this.firstRows = new Array<number>(size).fill(0)
    this.remaining = size
  }

  readonly codesFor = (_slot: number, n: number): Int32Array => {
    if (this.codesUsed + n > this.codes.length) return new Int32Array(n)
    const from = this.codesUsed
    this.codesUsed += n
    return this.codes.subarray(from, from + n)
  }

  readonly decided = (slot: number, codes: Int32Array, ticket: CommitTicket | null, firstRow: number): void => {
    this.outcomes[slot] = { _tag: "Decided", codes }
    this.tickets[slot] = ticket
    this.firstRows[slot] = firstRow
    this.done()
  }

  readonly failed = (slot: number, failure: HostFailure): void => {
    this.outcomes[slot] = failure
    this.done()
  }

  /** Answered by a remote host, after its own commit: nothing left to wait for here. */
  resolve(slot: number, outcome: BatchOutcome): void {
    this.outcomes[slot] = outcome
    this.done()
  }

  protected done(): void {
    if (--this.remaining === 0 && this.wake !== null) this.wake()
  }

  get isSettled(): boolean {
    return this.remaining === 0
  }

  /** Calls `f` once every batch is decided or failed (now, when they already are). */
  onSettled(f: () => void): void {
    if (this.remaining === 0) f()
    else this.wake = f
  }

  /** Resumes once every batch is decided or failed. */
  readonly settled: Effect.Effect<void> = Effect.async<void>((resume) => this.onSettled(() => resume(Effect.void)))

  /**
   * Calls `f` once the decided durable batches are committed (usually one ticket for the whole
   * set); a late commit fails those batches as NotDurableYet, a refused row marks its reading
   * unstorable.
   */
  whenCommitted(f: () => void): void {
    const distinct: Array<CommitTicket> = []
    for (const t of this.tickets) if (t !== null && !distinct.includes(t)) distinct.push(t)
    let left = distinct.length
    if (left === 0) {
      f()
      return
    }
    for (const ticket of distinct) {
      ticket.whenDone((exit) => {
        for (let i = 0; i < this.size; i++) {
          if (this.tickets[i] !== ticket) continue
          const o = this.outcomes[i]
          if (Exit.isFailure(exit)) {
            const waitedMs = Option.match(Cause.failureOption(exit.cause), { onNone: () => 0, onSome: (e) => e.waitedMs })
            this.outcomes[i] = { _tag: "NotDurableYet", waitedMs }
          } else if (o?._tag === "Decided") markUnstored(o.codes, exit.value, this.firstRows[i]!)
        }
        if (--left === 0) f()
      })
    }
  }

  /** `whenCommitted` as an Effect. */
  readonly committed: Effect.Effect<void> = Effect.async<void>((resume) => this.whenCommitted(() => resume(Effect.void)))
}
