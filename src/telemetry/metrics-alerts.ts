/** Metrics of alerts and their notifications (live, stream, webhooks). */
import { Counter, Gauge, Histogram } from "prom-client"
import { atZero, registry } from "./metrics-registry.js"

const alertsTotal = new Counter({
  name: "flowmesh_alerts_total",
  help: "Alert transitions by rule kind, severity and event (opened, acknowledged, resolved); suppressed = raised again within the cooldown",
  labelNames: ["kind", "severity", "event"] as const,
  registers: [registry]
})
export const alertTransitions = (kind: string, severity: string, event: "opened" | "acknowledged" | "resolved" | "suppressed") =>
  alertsTotal.labels(kind, severity, event)

export const alertsOpen = new Gauge({
  name: "flowmesh_alerts_open",
  help: "Unresolved alerts held by the notifiers resident on this node",
  registers: [registry]
})

const alertNotificationsTotal = new Counter({
  name: "flowmesh_alert_notifications_total",
  help: "Notifications by channel (live, stream, webhook) and outcome (sent, storm_suppressed, summary, failed)",
  labelNames: ["channel", "outcome"] as const,
  registers: [registry]
})
export const alertNotifications = (channel: "live" | "stream" | "webhook", outcome: "sent" | "storm_suppressed" | "summary" | "failed") =>
  alertNotificationsTotal.labels(channel, outcome)

export const alertOutboxUndecodable = new Counter({
  name: "flowmesh_alert_outbox_undecodable_total",
  help: "Outbox rows whose event did not decode (written by an incompatible version, or edited by hand): logged with their content and removed",
  registers: [registry]
})

export const alertOutboxRedelivered = new Counter({
  name: "flowmesh_alert_outbox_redelivered_total",
  help: "Outbox events the sweeper handed on again because the node that committed them did not (it died or could not reach the notifier)",
  registers: [registry]
})

export const alertLatency = new Histogram({
  name: "flowmesh_alert_latency_seconds",
  help: "From the edge receiving the breaching reading to the notifier committing the alert transition",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry]
})

export type WebhookOutcome = "delivered" | "retried" | "dead_lettered" | "overflow"

const webhookDeliveriesTotal = new Counter({
  name: "flowmesh_webhook_deliveries_total",
  help: "Webhook delivery attempts by outcome: delivered (2xx), retried (failed, will be sent again), dead_lettered (gave up), overflow (a target's queue was full: the row waits in PostgreSQL for the recovery loop)",
  labelNames: ["outcome"] as const,
  registers: [registry]
})
export const webhookDeliveries: Record<WebhookOutcome, Counter.Internal> = atZero({
  delivered: webhookDeliveriesTotal.labels("delivered"),
  retried: webhookDeliveriesTotal.labels("retried"),
  dead_lettered: webhookDeliveriesTotal.labels("dead_lettered"),
  overflow: webhookDeliveriesTotal.labels("overflow")
})

export const webhookBreakerOpen = new Gauge({
  name: "flowmesh_webhook_breaker_open",
  help: "1 while a webhook target's circuit breaker is open or probing, 0 when closed, by webhook id",
  labelNames: ["webhook"] as const,
  registers: [registry]
})

export const webhookDeliverySeconds = new Histogram({
  name: "flowmesh_webhook_delivery_seconds",
  help: "Duration of one webhook request, from send to answer, timeout or network error",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry]
})

export const webhookQueueDepth = new Gauge({
  name: "flowmesh_webhook_queue_depth",
  help: "Webhook deliveries held in memory on this node, waiting or in flight, across targets",
  registers: [registry]
})
