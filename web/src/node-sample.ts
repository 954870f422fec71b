/** One reading of a node's /metrics, and the rates and latencies between two of them. */
import { bucketsSince, type Buckets, histogramOf, histogramQuantile, parsePrometheusText, sumOf } from "./prometheus-text"

export interface NodeSample {
  readonly at: number
  /** Readings the sensors took (good and suspect), every transport, since the node started. */
  readonly accepted: number | null
  readonly ackLatency: Buckets
  readonly activeSensors: number | null
  readonly writerQueueRows: number | null
}

export const sampleOf = (metricsText: string, at: number): NodeSample => {
  const series = parsePrometheusText(metricsText)
  return {
    at,
    accepted: sumOf(series, "flowmesh_readings_total", (l) => l.outcome === "good" || l.outcome === "suspect"),
    ackLatency: histogramOf(series, "flowmesh_ingest_latency_seconds"),
    activeSensors: sumOf(series, "flowmesh_active_sensors"),
    writerQueueRows: sumOf(series, "flowmesh_writer_queue_rows")
  }
}

export interface NodeFigures {
  /** Accepted readings per second since the previous sample; null before there are two. */
  readonly ingestPerSecond: number | null
  /** Seconds, over the requests answered since the previous sample (or since start, with one sample). */
  readonly ackP50: number | null
  readonly ackP99: number | null
  readonly latencyWindow: "interval" | "since start"
  readonly activeSensors: number | null
  readonly writerQueueRows: number | null
}

export const figuresOf = (current: NodeSample, previous: NodeSample | null): NodeFigures => {
  const seconds = previous === null ? 0 : (current.at - previous.at) / 1000
  const ingestPerSecond =
    previous === null || seconds <= 0 || current.accepted === null || previous.accepted === null
      ? null
      : Math.max(0, current.accepted - previous.accepted) / seconds
  const window = previous === null ? current.ackLatency : bucketsSince(current.ackLatency, previous.ackLatency)
  return {
    ingestPerSecond,
    ackP50: histogramQuantile(0.5, window),
    ackP99: histogramQuantile(0.99, window),
    latencyWindow: previous === null ? "since start" : "interval",
    activeSensors: current.activeSensors,
    writerQueueRows: current.writerQueueRows
  }
}
