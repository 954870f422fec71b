/**
 * The Notifier entity's protocol. One notifier per site of a tenant: the part of the sensor id
 * before its first `/` (`site-7/pump-3` → `site-7`), `_` for ids without one, inside the sensor's
 * tenant (`acme~site-7/pump-3` → `acme~site-7`, `acme~pump` → `acme~_`). Sensor actors (through the
 * outbox and the node's relay) tell it what their rules decided; the API asks it to acknowledge
 * and resolve, so that every change of an alert goes through the one actor that owns it; the
 * sweeper reminds it of notifications it has not delivered to every channel yet.
 */
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { SensorAlertEvent } from "../domain/alert-event.js"
import { AlertView } from "../domain/notification.js"
import { externalId, internalId, tenantOf } from "../domain/tenancy.js"

export const OutboxEntry = Schema.Struct({ seq: Schema.Number, event: SensorAlertEvent })
export type OutboxEntry = typeof OutboxEntry.Type

/** The notifier (internal id) of a sensor (internal id). */
export const notifierOf = (sensor: string): string => {
  const id = externalId(sensor)
  const slash = id.indexOf("/")
  return internalId(tenantOf(sensor), slash > 0 ? id.slice(0, slash) : "_")
}

/** An alert as the API answers it (the notification's `alert`). */
export const AlertJson = AlertView.annotations({ identifier: "Alert" })

export class AlertNotFound extends Schema.TaggedError<AlertNotFound>()("AlertNotFound", { id: Schema.Number }) {}
export class AlertAlreadyResolved extends Schema.TaggedError<AlertAlreadyResolved>()("AlertAlreadyResolved", {
  id: Schema.Number
}) {}
export class NotifierUnavailable extends Schema.TaggedError<NotifierUnavailable>()("NotifierUnavailable", {
  message: Schema.String
}) {}

/** Events committed to the outbox under `seq` (their outbox id); each is applied once. */
export const ApplyAlertEvents = Rpc.make("ApplyAlertEvents", {
  payload: { entries: Schema.Array(OutboxEntry) },
  error: NotifierUnavailable
})

export const AcknowledgeAlert = Rpc.make("AcknowledgeAlert", {
  payload: { id: Schema.Number, by: Schema.String },
  success: AlertJson,
  error: Schema.Union(AlertNotFound, AlertAlreadyResolved, NotifierUnavailable)
})

export const ResolveAlert = Rpc.make("ResolveAlert", {
  payload: { id: Schema.Number, by: Schema.String },
  success: AlertJson,
  error: Schema.Union(AlertNotFound, NotifierUnavailable)
})

/**
 * Delivers what the notifier still owes its channels (notifications committed whose fan-out was cut
 * short); the sweeper sends it to notifiers with old fan-out rows. It answers at once.
 */
export const DeliverPendingNotifications = Rpc.make("DeliverPendingNotifications")

export const Notifier = Entity.make("Notifier", [ApplyAlertEvents, AcknowledgeAlert, ResolveAlert, DeliverPendingNotifications])
