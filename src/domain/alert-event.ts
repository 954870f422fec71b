import { Schema } from "effect"
import { Severity } from "./notification.js"

/** What a sensor's rule decided, as written to `alert_outbox.event`. */
export const SensorAlertEvent = Schema.Struct({
  sensor: Schema.String,
  rule: Schema.String,
  kind: Schema.String,
  severity: Severity,
  signal: Schema.Literal("raised", "continues", "cleared"),
  /** The deciding reading's ts (epoch ms). */
  at: Schema.Number,
  /** When the edge received the deciding reading (or the sweeper decided): alert latency starts here. */
  receivedAt: Schema.Number,
  value: Schema.NullOr(Schema.Number),
  count: Schema.Number,
  message: Schema.String,
  cooldownMs: Schema.NullOr(Schema.Number)
})
export type SensorAlertEvent = typeof SensorAlertEvent.Type
