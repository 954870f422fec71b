/**
 * A buffer's commit, awaited by every caller whose rows are in it: by a callback (the ingest hot
 * path and the shard hosts, no fiber per wait) or as an Effect. It completes once; a later
 * completion is ignored (a buffer that expired with CommitTimeout stays expired for its waiters).
 */
import { Effect, type Exit } from "effect"
import type { CommitTimeout, Flushed } from "./write-buffer.js"

export type CommitExit = Exit.Exit<Flushed, CommitTimeout>

/** Told about a waiter that threw: the others are still called, and the writer goes on. */
export type WaiterFailed = (error: unknown) => void

export class Commit {
  private exit: CommitExit | null = null
  private waiters: Array<(exit: CommitExit) => void> = []

  constructor(private readonly waiterFailed: WaiterFailed = () => {}) {}

  /** Completes the commit; returns false when it already was. */
  complete(exit: CommitExit): boolean {
    if (this.exit !== null) return false
    this.exit = exit
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) {
      try {
        w(exit)
      } catch (error) {
        this.waiterFailed(error)
      }
    }
    return true
  }

  get isDone(): boolean {
    return this.exit !== null
  }

  /** Calls `f` once the commit is done (now, when it already is). */
  whenDone(f: (exit: CommitExit) => void): void {
    if (this.exit !== null) f(this.exit)
    else this.waiters.push(f)
  }

  /** The commit as an Effect: succeeds with what was stored, fails with CommitTimeout. */
  readonly await: Effect.Effect<Flushed, CommitTimeout> = Effect.async<Flushed, CommitTimeout>((resume) => this.whenDone(resume))
}

/** A commit that is already done. */
export const doneCommit = (exit: CommitExit): Commit => {
  const c = new Commit()
  c.complete(exit)
  return c
}
