/**
 * Every Prometheus metric of a node, declared once: here those of ingest, the writer and hosting;
 * alerts and webhooks in metrics-alerts.ts; the edges' and live feeds' in metrics-channels.ts; the
 * rollup job's in metrics-rollups.ts; the MQTT edge's in metrics-mqtt.ts; readings forwarding's in
 * metrics-forward.ts.
 * Hot paths hold the labelled children (created here up front) and add per batch, never per reading.
 */
import { Counter, Gauge, Histogram } from "prom-client"
import { atZero, registry, sampledGauge } from "./metrics-registry.js"

export * from "./metrics-alerts.js"
export * from "./metrics-channels.js"
export * from "./metrics-forward.js"
export * from "./metrics-mqtt.js"
export * from "./metrics-rollups.js"
export { registry } from "./metrics-registry.js"

export type Transport = "http" | "ws" | "mqtt"
export type Outcome =
  | "good"
  | "suspect"
  | "invalid"
  | "out_of_order"
  | "duplicate"
  | "throttled"
  | "not_permitted"
  | "too_old"
  | "unstorable"
  | "malformed"
  | "overloaded"


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
    too_old: c("too_old"),
    unstorable: c("unstorable"),
    malformed: c("malformed"),
    overloaded: c("overloaded")
  })
}

export const readingsCounter: Record<Transport, Record<Outcome, Counter.Internal>> = {
  http: byTransport("http"),
  ws: byTransport("ws"),
  mqtt: byTransport("mqtt")
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
export const ingestLatencyMqtt = {
  durable: ingestLatency.labels("mqtt", "durable"),
  accepted: ingestLatency.labels("mqtt", "accepted")
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

/** Registers the ingest gateway's pending-readings reader; returns its removal. */
export const reportPendingReadings = sampledGauge({
  name: "flowmesh_ingest_pending_readings",
  help: "Readings handed to the ingest gateway (HTTP, WebSocket) and not answered yet (bounded by INGEST_MAX_PENDING_READINGS)"
})

