/**
 * Every Prometheus metric of a node, declared once. Hot paths hold the labelled children (created
 * here up front) and add per batch, never per reading.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"
import { monitorEventLoopDelay } from "./event-loop-delay.js"

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: "flowmesh_" })
monitorEventLoopDelay(registry)

export type Transport = "http" | "ws"
export type Outcome =
  | "good"
  | "suspect"
  | "invalid"
  | "out_of_order"
  | "duplicate"
  | "throttled"
  | "not_permitted"
  | "unstorable"
  | "malformed"
  | "overloaded"


/**
 * Exports each known series at 0 from the start (prom-client's `labels()` alone exports nothing
 * until the first increment): a dashboard's rate() needs a first sample, and a series that is
 * missing then means it was never declared.
 */
const atZero = <T extends Record<string, Counter.Internal>>(children: T): T => {
  for (const child of Object.values(children)) child.inc(0)
  return children
}

const readingsTotal = new Counter({
  name: "flowmesh_readings_total",
  help: "Readings received, by transport and outcome (good, suspect, or why they were dropped)",
  labelNames: ["transport", "outcome"] as const,
  registers: [registry]
})

const byTransport = (transport: Transport): Record<Outcome, Counter.Internal> => {
  const c = (outcome: Outcome) => readingsTotal.labels(transport, outcome)
  return atZero({
    good: c("good"),
    suspect: c("suspect"),
    invalid: c("invalid"),
    out_of_order: c("out_of_order"),
    duplicate: c("duplicate"),
    throttled: c("throttled"),
    not_permitted: c("not_permitted"),
    unstorable: c("unstorable"),
    malformed: c("malformed"),
    overloaded: c("overloaded")
  })
}

export const readingsCounter: Record<Transport, Record<Outcome, Counter.Internal>> = {
  http: byTransport("http"),
  ws: byTransport("ws")
}

const ingestLatency = new Histogram({
  name: "flowmesh_ingest_latency_seconds",
  help: "Time from receipt of a request to its answer, by transport and ack mode",
  labelNames: ["transport", "ack"] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry]
})
export const ingestLatencyHttp = {
  durable: ingestLatency.labels("http", "durable"),
  accepted: ingestLatency.labels("http", "accepted")
}
export const ingestLatencyWs = {
  durable: ingestLatency.labels("ws", "durable"),
  accepted: ingestLatency.labels("ws", "accepted")
}

export const writerBatchRows = new Histogram({
  name: "flowmesh_writer_batch_rows",
  help: "Rows written per writer flush",
  buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 50000],
  registers: [registry]
})

export const writerFlushSeconds = new Histogram({
  name: "flowmesh_writer_flush_seconds",
  help: "Duration of one writer flush (one multi-row statement), including retries",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry]
})

/**
 * A gauge read at scrape time from the values its owners report: `set` on every change (per
 * sensor batch on the hot path) cost prom-client an object per call. Each owner registers a
 * reader and removes it when it stops; the gauge is their sum (one owner per node in practice).
 */
const sampledGauge = ({ name, help }: { readonly name: string; readonly help: string }) => {
  const readers = new Set<() => number>()
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      let sum = 0
      for (const read of readers) sum += read()
      this.set(sum)
    }
  })
  return (read: () => number): (() => void) => {
    readers.add(read)
    return () => readers.delete(read)
  }
}

/** Registers the writer's queued-rows reader; returns its removal. */
export const reportWriterQueueRows = sampledGauge({ name: "flowmesh_writer_queue_rows", help: "Rows waiting in the writer (queued or being flushed)" })

export const writerRowsTotal = new Counter({
  name: "flowmesh_writer_rows_total",
  help: "Rows committed to PostgreSQL by the writer",
  registers: [registry]
})

export const writerFailuresTotal = new Counter({
  name: "flowmesh_writer_failures_total",
  help: "Writer flush attempts that failed and were retried",
  registers: [registry]
})

const writerUnstored = new Counter({
  name: "flowmesh_writer_unstored_total",
  help: "Items PostgreSQL refused for their data and the writer isolated and left out (readings are answered unstorable)",
  labelNames: ["kind"] as const,
  registers: [registry]
})
export const writerUnstoredTotal = atZero({
  reading: writerUnstored.labels("reading"),
  snapshot: writerUnstored.labels("snapshot"),
  alert: writerUnstored.labels("alert")
})

/** What the hosting layer reports at each scrape (set by actors/local-hosts.ts). */
export const hostingGauges = { residentSensors: (): number => 0, openHosts: (): number => 0 }

export const activeSensors = new Gauge({
  name: "flowmesh_active_sensors",
  help: "Sensor actors resident on this node (in its shard hosts' memory, loading ones included)",
  registers: [registry],
  collect() {
    this.set(hostingGauges.residentSensors())
  }
})

export const openShardHosts = new Gauge({
  name: "flowmesh_shard_hosts",
  help: "Shard hosts open on this node (one per cluster shard it owns)",
  registers: [registry],
  collect() {
    this.set(hostingGauges.openHosts())
  }
})

const clusterMessages = new Counter({
  name: "flowmesh_ingest_cluster_messages_total",
  help: "Messages the ingest gateway sent through the cluster (remote shards, or local ones not open yet), by kind; near 0 on a single node in steady state",
  labelNames: ["kind"] as const,
  registers: [registry]
})
export const ingestClusterMessages = atZero({
  batches: clusterMessages.labels("batches"),
  read: clusterMessages.labels("read")
})

const httpIngestRequests = new Counter({
  name: "flowmesh_http_ingest_requests_total",
  help: "HTTP ingest requests by the path that served them: the lean ingest lane, or the HttpApi router (anything the lane does not take)",
  labelNames: ["path"] as const,
  registers: [registry]
})
export const httpIngestPath = atZero({ lane: httpIngestRequests.labels("lane"), api: httpIngestRequests.labels("api") })

export const ingestPath = {
  local: new Counter({ name: "flowmesh_ingest_local_batches_total", help: "Sensor batches the ingest gateway handed to a local shard host in-process", registers: [registry] }),
  remote: new Counter({ name: "flowmesh_ingest_remote_batches_total", help: "Sensor batches the ingest gateway sent through the cluster", registers: [registry] })
}

export const sensorTransitions = new Counter({
  name: "flowmesh_sensor_transitions_total",
  help: "Sensor status transitions, by new status",
  labelNames: ["to"] as const,
  registers: [registry]
})

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

/** Registers the ingest gateway's pending-readings reader; returns its removal. */
export const reportPendingReadings = sampledGauge({
  name: "flowmesh_ingest_pending_readings",
  help: "Readings handed to the ingest gateway (HTTP, WebSocket) and not answered yet (bounded by INGEST_MAX_PENDING_READINGS)"
})

export const httpResponses = new Counter({
  name: "flowmesh_http_responses_total",
  help: "HTTP responses by status class",
  labelNames: ["status"] as const,
  registers: [registry]
})

export type WsEndpoint = "devices" | "live"

const wsConnectionsGauge = new Gauge({
  name: "flowmesh_ws_connections",
  help: "Open WebSocket connections, by endpoint",
  labelNames: ["endpoint"] as const,
  registers: [registry]
})
export const wsConnections: Record<WsEndpoint, Gauge.Internal<"endpoint">> = {
  devices: wsConnectionsGauge.labels("devices"),
  live: wsConnectionsGauge.labels("live")
}
for (const gauge of Object.values(wsConnections)) gauge.set(0)

const wsFramesTotal = new Counter({
  name: "flowmesh_ws_frames_total",
  help: "WebSocket frames, by endpoint and direction (in: from the client, out: to it)",
  labelNames: ["endpoint", "direction"] as const,
  registers: [registry]
})
export const wsFrames: Record<WsEndpoint, { readonly in: Counter.Internal; readonly out: Counter.Internal }> = {
  devices: atZero({ in: wsFramesTotal.labels("devices", "in"), out: wsFramesTotal.labels("devices", "out") }),
  live: atZero({ in: wsFramesTotal.labels("live", "in"), out: wsFramesTotal.labels("live", "out") })
}

const wsPausedGauge = new Gauge({
  name: "flowmesh_ws_paused_connections",
  help: "Device connections whose socket is not being read (TCP backpressure), by cause: inflight (too many unanswered frames) or outbound (the device is not reading its acks)",
  labelNames: ["cause"] as const,
  registers: [registry]
})
export const wsPausedConnections = {
  inflight: wsPausedGauge.labels("inflight"),
  outbound: wsPausedGauge.labels("outbound")
}
for (const gauge of Object.values(wsPausedConnections)) gauge.set(0)

export const wsBatchReadings = new Histogram({
  name: "flowmesh_ws_batch_readings",
  help: "Readings per actor message from the WebSocket edge (after coalescing across frames)",
  buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
  registers: [registry]
})

const wsRejectedTotal = new Counter({
  name: "flowmesh_ws_rejected_total",
  help: "WebSocket connections refused or closed by the server, by endpoint and reason",
  labelNames: ["endpoint", "reason"] as const,
  registers: [registry]
})
export const wsRejected = (endpoint: WsEndpoint, reason: "limit" | "bad_request" | "bad_frames" | "dead" | "too_big" | "shutdown" | "unauthorized" | "forbidden" | "unavailable" | "ip_limit") =>
  wsRejectedTotal.labels(endpoint, reason)

const rateLimitedTotal = new Counter({
  name: "flowmesh_rate_limited_total",
  help: "Requests refused with 429, by the limit that refused them (ip, key)",
  labelNames: ["scope"] as const,
  registers: [registry]
})
export const rateLimited = atZero({ ip: rateLimitedTotal.labels("ip"), key: rateLimitedTotal.labels("key") })

export const rateLimiterFallbacks = new Counter({
  name: "flowmesh_rate_limiter_fallbacks_total",
  help: "Rate limit decisions taken by the node alone because Redis did not answer in time",
  registers: [registry]
})

const liveDroppedTotal = new Counter({
  name: "flowmesh_live_items_dropped_total",
  help: "Live readings not delivered, by reason: slow_client (a dashboard's buffer overflowed), redis (could not reach other nodes), malformed (unreadable message from Redis)",
  labelNames: ["reason"] as const,
  registers: [registry]
})
export const liveDropped = atZero({
  slow_client: liveDroppedTotal.labels("slow_client"),
  redis: liveDroppedTotal.labels("redis"),
  malformed: liveDroppedTotal.labels("malformed")
})

export const liveRemoteItems = new Counter({
  name: "flowmesh_live_remote_items_total",
  help: "Live items received from other nodes through Redis",
  registers: [registry]
})

export const liveRemoteTopics = new Gauge({
  name: "flowmesh_live_remote_topics",
  help: "Topics other nodes announced they watch: this node publishes only their sensors to Redis",
  registers: [registry]
})

export const livePublished = new Counter({
  name: "flowmesh_live_published_total",
  help: "Messages this node published to Redis for other nodes' dashboards (one per sensor per tick)",
  registers: [registry]
})

export const liveSubscriptions = new Gauge({
  name: "flowmesh_live_topics",
  help: "Live topics (sensors or prefixes) watched on this node: one Redis subscription each",
  registers: [registry]
})

export const liveDashboardSubscriptions = new Gauge({
  name: "flowmesh_live_subscriptions",
  help: "Subscriptions held by dashboard connections on this node",
  registers: [registry]
})

export const liveLatency = new Histogram({
  name: "flowmesh_live_latency_seconds",
  help: "From receipt at an edge to the frame written to a dashboard socket, per batch of readings (its oldest reading)",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
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
