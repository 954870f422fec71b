/**
 * A bounded map whose entries expire: the edge's key → principal cache, so that a request costs one
 * `Map` lookup instead of a database round trip. Oldest entries go first when it is full; `now` is
 * passed in so that tests need no clock.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly expiresAt: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number
  ) {}

  get(key: string, now: number): V | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return e.value
  }

  set(key: string, value: V, now: number, ttlMs: number = this.ttlMs): void {
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
    this.entries.set(key, { value, expiresAt: now + Math.min(ttlMs, this.ttlMs) })
  }

  /** Drops every entry whose value matches (a revoked key, wherever it is cached). */
  deleteWhere(match: (value: V) => boolean): number {
    let n = 0
    for (const [k, e] of this.entries) {
      if (match(e.value)) {
        this.entries.delete(k)
        n++
      }
    }
    return n
  }

  get size(): number {
    return this.entries.size
  }
}
