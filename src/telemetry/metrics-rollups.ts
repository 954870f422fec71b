/** Metrics of the rollup job: how far the aggregates are behind the committed readings. */
import { Counter, Gauge, Histogram } from "prom-client"
import { atZero, registry } from "./metrics-registry.js"

export const rollupMarksTotal = new Counter({
  name: "flowmesh_rollup_marks_total",
  help: "Flush marks the rollup job took (one per writer flush with rows), on this node",
  registers: [registry]
})
rollupMarksTotal.inc(0)

const rollupBucketsTotal = new Counter({
  name: "flowmesh_rollup_buckets_total",
  help: "Rollup buckets recomputed and written, by tier",
  labelNames: ["tier"] as const,
  registers: [registry]
})
export const rollupBuckets = atZero({
  "1m": rollupBucketsTotal.labels("1m"),
  "1h": rollupBucketsTotal.labels("1h"),
  "1d": rollupBucketsTotal.labels("1d")
})

export const rollupRunSeconds = new Histogram({
  name: "flowmesh_rollup_run_seconds",
  help: "Duration of one rollup transaction that took marks (their rows merged into the three tiers)",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry]
})

export const rollupFailuresTotal = new Counter({
  name: "flowmesh_rollup_failures_total",
  help: "Rollup transactions that failed (their marks stay and are taken again)",
  registers: [registry]
})
rollupFailuresTotal.inc(0)

export const rollupPendingMarks = new Gauge({
  name: "flowmesh_rollup_pending_marks",
  help: "Flush marks not yet rolled up (whole cluster, as this node last saw it)",
  registers: [registry]
})
rollupPendingMarks.set(0)

export const rollupLagSeconds = new Gauge({
  name: "flowmesh_rollup_lag_seconds",
  help: "Age of the oldest flush mark not yet rolled up: how far the aggregates are behind the committed readings (0 when caught up)",
  registers: [registry]
})
rollupLagSeconds.set(0)
