/**
 * What every alert channel carries: one notification per alert transition (opened, acknowledged,
 * resolved) or per storm summary. `id` is the `alert_events` row id, unique and stable: a receiver
 * that sees the same id twice (a webhook retried after a lost response) drops the second.
 * Plain data, JSON as it stands: the webhook body, the Redis stream entry's `data` field and the
 * `/ws/live` alert frame are this object. Ids in it (sensor, notifier) are the tenant's own, and
 * `tenant` says whose it is (a receiver shared by tenants tells them apart by it).
 */
import { Schema } from "effect"
import { externalId, TENANT_SEPARATOR } from "./tenancy.js"

export const SEVERITIES = ["info", "warning", "critical"] as const
export const Severity = Schema.Literal(...SEVERITIES)
export type Severity = typeof Severity.Type
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s)

export const AlertStatus = Schema.Literal("open", "acknowledged", "resolved")
export type AlertStatus = typeof AlertStatus.Type

export const AlertView = Schema.Struct({
  id: Schema.Number,
  notifier: Schema.String,
  sensor: Schema.String,
  rule: Schema.String,
  kind: Schema.String,
  severity: Severity,
  status: AlertStatus,
  message: Schema.String,
  value: Schema.NullOr(Schema.Number),
  /** Readings that breached the rule while the alert was unresolved. */
  count: Schema.Number,
  openedAt: Schema.Number,
  lastSeen: Schema.Number,
  acknowledgedAt: Schema.NullOr(Schema.Number),
  acknowledgedBy: Schema.NullOr(Schema.String),
  resolvedAt: Schema.NullOr(Schema.Number),
  /** `"auto"` when the condition cleared (or the sweeper saw the sensor back), else who resolved it. */
  resolvedBy: Schema.NullOr(Schema.String)
})
export type AlertView = typeof AlertView.Type

export const NotificationType = Schema.Literal("alert.opened", "alert.acknowledged", "alert.resolved", "alert.summary")
export type NotificationType = typeof NotificationType.Type

export const StormSummary = Schema.Struct({
  /** Notifications this channel did not send in the window, folded into this one. */
  suppressed: Schema.Number,
  from: Schema.Number,
  to: Schema.Number,
  message: Schema.String
})
export type StormSummary = typeof StormSummary.Type

/** Also how a notification is stored until every channel took it (`alert_fanout.payload`), and read back. */
export const Notification = Schema.Struct({
  /** The `alert_events` id: unique per event, the same on every channel and every retry. */
  id: Schema.Number,
  type: NotificationType,
  /** When the transition happened (epoch ms). */
  at: Schema.Number,
  tenant: Schema.String,
  notifier: Schema.String,
  severity: Severity,
  /** Null for a summary. */
  alert: Schema.NullOr(AlertView),
  /** Set for `alert.summary` only. */
  summary: Schema.NullOr(StormSummary)
})
export type Notification = typeof Notification.Type

/** An alert as its tenant knows it: the sensor and notifier without the tenant the node keeps in their ids. */
export const outwardAlert = (a: AlertView): AlertView =>
  a.sensor.includes(TENANT_SEPARATOR) || a.notifier.includes(TENANT_SEPARATOR) ? { ...a, sensor: externalId(a.sensor), notifier: externalId(a.notifier) } : a
