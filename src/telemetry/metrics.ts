/**
 * Every Prometheus metric of a node, declared once. Hot paths hold the labelled children (created
 * here up front) and add per batch, never per reading.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: "flowmesh_" })

export type Transport = "http" | "ws"
export type Outcome =
  | "good"
  | "suspect"
  | "invalid"
  | "out_of_order"
  | "duplicate"
  | "throttled"
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
  return {
    good: c("good"),
    suspect: c("suspect"),
    invalid: c("invalid"),
    out_of_order: c("out_of_order"),
    duplicate: c("duplicate"),
    throttled: c("throttled"),
    malformed: c("malformed"),
    overloaded: c("overloaded")
  }
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

export const writerQueueRows = new Gauge({
  name: "flowmesh_writer_queue_rows",
  help: "Rows waiting in the writer (queued or being flushed)",
  registers: [registry]
})

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

export const activeSensors = new Gauge({
  name: "flowmesh_active_sensors",
  help: "Sensor entities resident on this node",
  registers: [registry]
})

export const sensorTransitions = new Counter({
  name: "flowmesh_sensor_transitions_total",
  help: "Sensor status transitions, by new status",
  labelNames: ["to"] as const,
  registers: [registry]
})

export const httpResponses = new Counter({
  name: "flowmesh_http_responses_total",
  help: "HTTP responses by status class",
  labelNames: ["status"] as const,
  registers: [registry]
})
