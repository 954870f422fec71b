/**
 * Shared rate limits decided on the node and settled with Redis in batches (RATE_LIMIT_SYNC_MS):
 * the way Kong's `sync_rate` and Envoy's local-plus-global limits trade a bounded overshoot for no
 * round trip per request. Each key's theoretical arrival time (GCRA, see gcra.ts) is kept here; a
 * key is decided locally while its copy is fresh (primed by one exact Redis decision, then kept in
 * step by the settles), and needs the exact decision again when it is not (first seen, or idle past
 * `staleMs`). What the node allows is counted per key and handed to the settle, which adds it to
 * the shared TAT and answers how far ahead the shared TAT now is: the local copy moves up to it, so
 * every node learns what the others spent within one settle interval. Pure: no I/O, no timers.
 */
import { gcraJoint, type JointDecision, type Limit } from "./gcra.js"

export interface LimitCheck {
  readonly key: string
  readonly limit: Limit
}

/** A local decision: allowed, or which check refused (the spent TATs are kept here, not handed out). */
export type LocalVerdict = { readonly allowed: true } | Extract<JointDecision, { readonly allowed: false }>

/** Requests allowed on this node since the last settle, per key. */
export interface Spent {
  readonly key: string
  readonly count: number
  readonly intervalMs: number
}

interface Entry {
  tat: number
  syncedAt: number
}

const ALLOWED: LocalVerdict = { allowed: true }

export class SyncedLimits {
  private readonly entries = new Map<string, Entry>()
  private spent = new Map<string, { count: number; intervalMs: number }>()

  constructor(
    /** A copy older than this (not primed or settled since) is not trusted: the exact decision is asked again. */
    readonly staleMs: number,
    readonly maxEntries: number = 100_000
  ) {}

  /** The local decision, or undefined when a key's copy is missing or stale (ask Redis exactly, then `prime`). */
  decide(checks: ReadonlyArray<LimitCheck>, now: number): LocalVerdict | undefined {
    for (const c of checks) {
      const e = this.entries.get(c.key)
      if (e === undefined || now - e.syncedAt > this.staleMs) return undefined
    }
    const d = gcraJoint(
      checks.map((c) => this.entries.get(c.key)!.tat),
      checks.map((c) => c.limit),
      now
    )
    if (!d.allowed) return d
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!
      this.entries.get(c.key)!.tat = d.tats[i]!
      const s = this.spent.get(c.key)
      if (s === undefined) this.spent.set(c.key, { count: 1, intervalMs: 1000 / c.limit.ratePerSec })
      else s.count++
    }
    return ALLOWED
  }

  /** After an exact decision in Redis: each key's shared TAT is `now + aheadMs[i]` (its reset time); Redis already counted it. */
  prime(checks: ReadonlyArray<LimitCheck>, aheadMs: ReadonlyArray<number>, now: number): void {
    if (this.entries.size >= this.maxEntries) this.prune(now)
    for (let i = 0; i < checks.length; i++) this.raise(checks[i]!.key, now + Math.max(0, aheadMs[i] ?? 0), now)
  }

  /** What was allowed since the last call, for the settle; the counts start again from zero. */
  drain(): ReadonlyArray<Spent> {
    if (this.spent.size === 0) return []
    const out: Array<Spent> = []
    for (const [key, s] of this.spent) out.push({ key, count: s.count, intervalMs: s.intervalMs })
    this.spent = new Map()
    return out
  }

  /** A settle's answer: the shared TAT of `key` is `aheadMs` past now; the local copy never moves back. */
  settled(key: string, aheadMs: number, now: number): void {
    this.raise(key, now + Math.max(0, aheadMs), now)
  }

  /** Counts of a settle that failed, put back so the next one carries them. */
  restore(spent: ReadonlyArray<Spent>): void {
    for (const s of spent) {
      const held = this.spent.get(s.key)
      if (held === undefined) this.spent.set(s.key, { count: s.count, intervalMs: s.intervalMs })
      else held.count += s.count
    }
  }

  get size(): number {
    return this.entries.size
  }

  private raise(key: string, tat: number, now: number): void {
    const e = this.entries.get(key)
    if (e === undefined) this.entries.set(key, { tat, syncedAt: now })
    else {
      e.tat = Math.max(e.tat, tat)
      e.syncedAt = now
    }
  }

  /** Drops copies that are stale and whose budget is whole again: they would be primed afresh anyway. */
  private prune(now: number): void {
    for (const [key, e] of this.entries) if (e.tat < now && now - e.syncedAt > this.staleMs && !this.spent.has(key)) this.entries.delete(key)
  }
}
