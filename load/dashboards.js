// @ts-check
// Live dashboards: DASHBOARDS connections to /ws/live, each subscribed to SENSORS_PER_DASHBOARD of
// the SENSORS sensors, measuring each reading's age on arrival (arrival time − its ts). Self-contained:
// a second scenario ingests over HTTP at RATE (as http-ingest.js does) with ts = send time, so the age
// is the feed's latency: edge → sensor actor → (Redis, across nodes) → dashboard. Readings sent
// PER_SENSOR > 1 to a request are older than their send time by up to (PER_SENSOR − 1) × STEP_MS,
// and k6 and the node must share a clock (same machine, or NTP).
//
//   npm start                      # a node on :8080
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=200 -e DASHBOARDS=200 -e SENSORS_PER_DASHBOARD=50 load/dashboards.js
//
// Against the docker-compose cluster (`docker compose up --build`): requests and dashboards spread
// round robin over the nodes, so most readings reach their dashboards through another node (Redis):
//   k6 run -e BASE_URL=http://localhost:8081,http://localhost:8082,http://localhost:8083 -e DASHBOARDS=200 load/dashboards.js
//
// Needs k6 v1.0 or newer (k6/websockets).
import { check } from "k6"
import exec from "k6/execution"
import { Counter, Trend } from "k6/metrics"
import { clearTimeout, setTimeout } from "k6/timers"
import { WebSocket } from "k6/websockets"
import { frameType, laggedCount, liveErrorCode, liveLatencies } from "./lib/answers.js"
import { subscribeFrame } from "./lib/bodies.js"
import { baseUrlFor, readConfig, wsUrl } from "./lib/config.js"
import { ingestArrivals, sessions } from "./lib/scenarios.js"
import { dashboardSensors, sensorId } from "./lib/sensors.js"

export { ingest } from "./http-ingest.js"

const settings = readConfig(__ENV)
if (!settings.ok) throw new Error(`invalid settings:\n  ${settings.errors.join("\n  ")}`)
const config = settings.config

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    watch: sessions("dashboard", config.dashboards, config.runMs),
    feed: ingestArrivals("ingest", config)
  },
  thresholds: {
    live_latency: [`p(99)<${config.p99Ms}`],
    live_readings: ["count>0"],
    live_lagged: [`count<=${config.maxLagged}`],
    http_req_failed: [`rate<${config.maxErrorRate}`],
    checks: ["rate>0.99"]
  },
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"]
}

/** A reading's arrival at a dashboard − its ts. */
export const liveLatency = new Trend("live_latency", true)
export const liveReadings = new Counter("live_readings")
/** Items the node dropped for a dashboard that did not keep up (`lagged` frames). */
export const liveLagged = new Counter("live_lagged")
/** Error frames, tagged with their code, and sockets that failed. */
export const liveErrors = new Counter("live_errors")

/** One dashboard: a connection kept open for the run (one iteration of a per-vu-iterations scenario). */
export function dashboard() {
  const index = exec.scenario.iterationInTest
  const watched = dashboardSensors(index, config.sensorsPerDashboard, config.sensors).map((sensor) => sensorId(sensor, config.sites))
  let subscribed = false
  /** @type {number | null} */
  let stopTimer = null
  const ws = new WebSocket(wsUrl(baseUrlFor(config, index), "/ws/live"))

  ws.onopen = () => {
    ws.send(subscribeFrame(watched))
    stopTimer = setTimeout(() => ws.close(), config.runMs)
  }

  ws.onmessage = (event) => {
    const received = Date.now()
    const text = typeof event?.data === "string" ? event.data : null
    const latencies = liveLatencies(text, received)
    for (const latency of latencies) liveLatency.add(latency)
    if (latencies.length > 0) {
      liveReadings.add(latencies.length)
      return
    }
    if (!subscribed) subscribed = frameType(text) === "subscribed"
    const dropped = laggedCount(text)
    if (dropped > 0) liveLagged.add(dropped)
    const code = liveErrorCode(text)
    if (code !== null) liveErrors.add(1, { code })
  }

  ws.onerror = (event) => {
    liveErrors.add(1, { code: "socket_error", error: event?.error ?? "" })
  }

  ws.onclose = () => {
    if (stopTimer !== null) clearTimeout(stopTimer)
    check(subscribed, { "dashboard subscribed": (s) => s })
    // a sample per dashboard, so the lagged threshold is judged even when nothing was dropped
    liveLagged.add(0)
  }
}

export default dashboard
