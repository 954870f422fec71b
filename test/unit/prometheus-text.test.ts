/** The node page's reading of /metrics (web/src/prometheus-text.ts): series, histograms, quantiles. */
import { describe, expect, it } from "vitest"
import { bucketsSince, histogramOf, histogramQuantile, parsePrometheusText, sumOf } from "../../web/src/prometheus-text.js"

const TEXT = `# HELP flowmesh_readings_total Readings received
# TYPE flowmesh_readings_total counter
flowmesh_readings_total{transport="http",outcome="good"} 90
flowmesh_readings_total{transport="ws",outcome="suspect"} 10
flowmesh_readings_total{transport="http",outcome="invalid"} 5
flowmesh_ingest_latency_seconds_bucket{le="0.001",transport="http",ack="durable"} 10
flowmesh_ingest_latency_seconds_bucket{le="0.01",transport="http",ack="durable"} 50
flowmesh_ingest_latency_seconds_bucket{le="+Inf",transport="http",ack="durable"} 60
flowmesh_ingest_latency_seconds_bucket{le="0.001",transport="ws",ack="durable"} 30
flowmesh_ingest_latency_seconds_bucket{le="0.01",transport="ws",ack="durable"} 40
flowmesh_ingest_latency_seconds_bucket{le="+Inf",transport="ws",ack="durable"} 40
flowmesh_active_sensors 3
`

describe("prometheus text", () => {
  const series = parsePrometheusText(TEXT)

  it("reads names, labels and values, skipping comments", () => {
    expect(series).toHaveLength(10)
    expect(series[0]).toEqual({ name: "flowmesh_readings_total", labels: { transport: "http", outcome: "good" }, value: 90 })
    expect(sumOf(series, "flowmesh_readings_total", (l) => l.outcome === "good" || l.outcome === "suspect")).toBe(100)
    expect(sumOf(series, "flowmesh_active_sensors")).toBe(3)
    expect(sumOf(series, "flowmesh_nothing")).toBeNull()
  })

  it("sums a histogram over its label sets and interpolates quantiles as histogram_quantile does", () => {
    const buckets = histogramOf(series, "flowmesh_ingest_latency_seconds")
    expect(buckets).toEqual([
      { le: 0.001, count: 40 },
      { le: 0.01, count: 90 },
      { le: Infinity, count: 100 }
    ])
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.001 + 0.009 * (10 / 50))
    // The rank falls in +Inf: the highest finite bound.
    expect(histogramQuantile(0.99, buckets)).toBe(0.01)
    expect(histogramQuantile(0.5, [])).toBeNull()
  })

  it("takes the observations between two scrapes, or all of the later one after a restart", () => {
    const earlier = [{ le: 0.001, count: 40 }, { le: Infinity, count: 50 }]
    expect(bucketsSince([{ le: 0.001, count: 45 }, { le: Infinity, count: 60 }], earlier)).toEqual([{ le: 0.001, count: 5 }, { le: Infinity, count: 10 }])
    const restarted = [{ le: 0.001, count: 1 }, { le: Infinity, count: 2 }]
    expect(bucketsSince(restarted, earlier)).toEqual(restarted)
  })
})
