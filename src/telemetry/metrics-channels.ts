/** Metrics of the edges (HTTP answers, WebSocket connections, rate limits) and the live feeds. */
import { Counter, Gauge, Histogram } from "prom-client"
import { atZero, registry } from "./metrics-registry.js"

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

