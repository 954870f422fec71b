/**
 * What a Notifier knows between its transactions, as plain data: one lifecycle entry per
 * (sensor, rule) built from the store's rows, and what one applied batch changed.
 */
import type { AlertEntry } from "../core/alert-lifecycle.js"
import type { SensorAlertEvent } from "../domain/alert-event.js"
import type { Notification } from "../domain/notification.js"
import type { StoredEntry } from "../storage/alert-store.js"
import { alertLatency, alertTransitions } from "../telemetry/metrics.js"

export const keyOf = (sensor: string, rule: string): string => `${sensor}\u0000${rule}`

/** What the store's rows say about each (sensor, rule), as the lifecycle decides over it. */
export const entriesOf = (rows: ReadonlyArray<StoredEntry>, defaultCooldownMs: number): Map<string, AlertEntry> => {
  const entries = new Map<string, AlertEntry>()
  for (const r of rows) {
    entries.set(keyOf(r.sensor, r.rule), {
      openId: r.status === "resolved" ? null : r.id,
      resolvedAt: r.resolvedAt,
      cooldownMs: r.cooldownMs ?? defaultCooldownMs,
      lastSeq: r.lastEventSeq
    })
  }
  return entries
}

export const openCountOf = (entries: ReadonlyMap<string, AlertEntry>): number => {
  let open = 0
  for (const entry of entries.values()) if (entry.openId !== null) open++
  return open
}

/** What one applied batch changed, handed from the transaction to the after-commit step. */
export interface Applied {
  readonly working: Map<string, AlertEntry>
  readonly notes: ReadonlyArray<Notification>
  /** Seconds from a reading's receipt to its alert being opened. */
  readonly latencies: ReadonlyArray<number>
  readonly suppressed: ReadonlyArray<SensorAlertEvent>
}

/** The counters of a committed batch. */
export const countApplied = ({ notes, latencies, suppressed }: Applied) => {
  for (const n of notes) if (n.alert !== null) alertTransitions(n.alert.kind, n.alert.severity, n.type === "alert.opened" ? "opened" : "resolved").inc()
  for (const s of suppressed) alertTransitions(s.kind, s.severity, "suppressed").inc()
  for (const seconds of latencies) alertLatency.observe(seconds)
}
