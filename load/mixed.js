// @ts-check
// Everything at once, as in production: HTTP ingest at RATE (or RAMP), DEVICES WebSocket devices,
// DASHBOARDS live dashboards and history queries at HISTORY_RATE, each a scenario with its own
// thresholds (`http_req_duration{scenario:history}` apart from the ingest's), so one slow part is
// named in the summary instead of being averaged away.
//
//   npm start                      # a node on :8080
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=200 -e DEVICES=500 -e DASHBOARDS=50 -e HISTORY_RATE=20 load/mixed.js
//
// Against the docker-compose cluster (`docker compose up --build`), spread over its three nodes:
//   k6 run -e BASE_URL=http://localhost:8081,http://localhost:8082,http://localhost:8083 -e DURATION=5m load/mixed.js
//
// History queries start once the ingest has written every sensor once (an unknown sensor is a 404).
// The scenarios are those of http-ingest.js, ws-devices.js and dashboards.js (imported from them);
// devices write their own sensors (indexes SENSORS and up), dashboards watch the HTTP ingest's.
// Needs k6 v1.0 or newer (k6/websockets).
import { check } from "k6"
import exec from "k6/execution"
import http from "k6/http"
import { baseUrlFor, historyUrl, readConfig } from "./lib/config.js"
import { hash32 } from "./lib/prng.js"
import { historyArrivals, ingestArrivals, sessions } from "./lib/scenarios.js"
import { sensorId } from "./lib/sensors.js"

export { dashboard } from "./dashboards.js"
export { ingest } from "./http-ingest.js"
export { device } from "./ws-devices.js"

const settings = readConfig(__ENV)
if (!settings.ok) throw new Error(`invalid settings:\n  ${settings.errors.join("\n  ")}`)
const config = settings.config

/** The page size the history scenario asks for. */
const HISTORY_LIMIT = 100

/** @param {string} metric @param {string} scenario */
const scoped = (metric, scenario) => `${metric}{scenario:${scenario}}`

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: {
    ingest: ingestArrivals("ingest", config),
    devices: sessions("device", config.devices, config.runMs),
    dashboards: sessions("dashboard", config.dashboards, config.runMs),
    history: historyArrivals("history", config)
  },
  thresholds: {
    [scoped("http_req_duration", "ingest")]: [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`],
    [scoped("http_req_failed", "ingest")]: [`rate<${config.maxErrorRate}`],
    [scoped("checks", "ingest")]: ["rate>0.99"],
    ws_ack_latency: [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`],
    ws_frame_failed: [`rate<${config.maxErrorRate}`],
    [scoped("checks", "devices")]: ["rate>0.99"],
    live_latency: [`p(99)<${config.p99Ms}`],
    live_readings: ["count>0"],
    live_lagged: [`count<=${config.maxLagged}`],
    [scoped("checks", "dashboards")]: ["rate>0.99"],
    [scoped("http_req_duration", "history")]: [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`],
    [scoped("http_req_failed", "history")]: [`rate<${config.maxErrorRate}`],
    [scoped("checks", "history")]: ["rate>0.99"]
  },
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"]
}

/** @type {import("k6/http").Params} */
const params = { tags: { name: "GET /api/v1/sensors/{id}/readings" } }

/** The newest page of a sensor the HTTP ingest writes, picked by a hash of the iteration. */
export function history() {
  const iteration = exec.scenario.iterationInTest
  const sensor = sensorId(hash32(config.seed, iteration) % config.sensors, config.sites)
  const res = http.get(historyUrl(baseUrlFor(config, iteration), sensor, HISTORY_LIMIT), params)
  check(res, { "history is 200": (r) => r.status === 200 })
}
