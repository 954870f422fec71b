/**
 * What every alert channel carries: one notification per alert transition (opened, acknowledged,
 * resolved) or per storm summary. `id` is the `alert_events` row id, unique and stable: a receiver
 * that sees the same id twice (a webhook retried after a lost response) drops the second.
 * Plain data, JSON as it stands: the webhook body, the Redis stream entry's `data` field and the
 * `/ws/live` alert frame are this object. Ids in it (sensor, notifier) are the tenant's own, and
 * `tenant` says whose it is (a receiver shared by tenants tells them apart by it).
 */
import { externalId, TENANT_SEPARATOR } from "../domain/tenancy.js"

export type Severity = "info" | "warning" | "critical"
export const SEVERITIES: ReadonlyArray<Severity> = ["info", "warning", "critical"]
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s)

export type AlertStatus = "open" | "acknowledged" | "resolved"

export interface AlertView {
  readonly id: number
  readonly notifier: string
  readonly sensor: string
  readonly rule: string
  readonly kind: string
  readonly severity: Severity
  readonly status: AlertStatus
  readonly message: string
  readonly value: number | null
  /** Readings that breached the rule while the alert was unresolved. */
  readonly count: number
  readonly openedAt: number
  readonly lastSeen: number
  readonly acknowledgedAt: number | null
  readonly acknowledgedBy: string | null
  readonly resolvedAt: number | null
  /** `"auto"` when the condition cleared (or the sweeper saw the sensor back), else who resolved it. */
  readonly resolvedBy: string | null
}

export type NotificationType = "alert.opened" | "alert.acknowledged" | "alert.resolved" | "alert.summary"

export interface StormSummary {
  /** Notifications this channel did not send in the window, folded into this one. */
  readonly suppressed: number
  readonly from: number
  readonly to: number
  readonly message: string
}

export interface Notification {
  /** The `alert_events` id: unique per event, the same on every channel and every retry. */
  readonly id: number
  readonly type: NotificationType
  /** When the transition happened (epoch ms). */
  readonly at: number
  readonly tenant: string
  readonly notifier: string
  readonly severity: Severity
  /** Null for a summary. */
  readonly alert: AlertView | null
  /** Set for `alert.summary` only. */
  readonly summary: StormSummary | null
}

/** An alert as its tenant knows it: the sensor and notifier without the tenant the node keeps in their ids. */
export const outwardAlert = (a: AlertView): AlertView =>
  a.sensor.includes(TENANT_SEPARATOR) || a.notifier.includes(TENANT_SEPARATOR) ? { ...a, sensor: externalId(a.sensor), notifier: externalId(a.notifier) } : a
