// @ts-check
// HTTP ingest: POST /api/v1/readings at an open arrival rate (requests/s, not users), BATCH readings
// per request over SENSORS sensors, and the readings' fate (accepted, rejected by reason) as metrics.
//
//   npm start                      # a node on :8080
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=500 -e BATCH=100 load/http-ingest.js
//   k6 run -e RAMP=100:30s,1000:1m,1000:2m load/http-ingest.js         # find the knee
//
// Against the docker-compose cluster (`docker compose up --build`), spread over its three nodes:
//   k6 run -e BASE_URL=http://localhost:8081,http://localhost:8082,http://localhost:8083 -e RATE=500 load/http-ingest.js
//
// Every setting is an environment variable (load/README.md); a bad one stops k6 before the run.
import { check } from "k6"
import exec from "k6/execution"
import http from "k6/http"
import { Counter, Rate } from "k6/metrics"
import { ingestOutcome } from "./lib/answers.js"
import { batchOf, groupStart, readingsBody, sensorsPerRequest } from "./lib/bodies.js"
import { baseUrlFor, ingestUrl, readConfig } from "./lib/config.js"
import { ingestArrivals } from "./lib/scenarios.js"
import { createValueModel } from "./lib/sensors.js"

const settings = readConfig(__ENV)
if (!settings.ok) throw new Error(`invalid settings:\n  ${settings.errors.join("\n  ")}`)
const config = settings.config

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: { ingest: ingestArrivals("ingest", config) },
  thresholds: {
    http_req_failed: [`rate<${config.maxErrorRate}`],
    http_req_duration: [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`],
    checks: ["rate>0.99"]
  },
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"]
}

export const readingsAccepted = new Counter("readings_accepted")
/** Tagged with the node's reason: throttled, out_of_order, duplicate, invalid. */
export const readingsRejected = new Counter("readings_rejected")
/** 429 or 503 with Retry-After: the node shed load instead of queueing it without bound. */
export const overloaded = new Rate("overloaded")
/** Requests that were not a well-formed 202, tagged with the node's error code. */
export const ingestErrors = new Counter("ingest_errors")

const model = createValueModel(config.seed, { spikeRate: config.spikeRate, stuckRate: config.stuckRate })
const perRequest = sensorsPerRequest(config.batch, config.perSensor)
/** @type {import("k6/http").Params} */
const params = { headers: { "content-type": "application/json" }, tags: { name: "POST /api/v1/readings" } }

/** One request of BATCH readings with ts ending now, for the next group of sensors in turn. */
export function ingest() {
  const iteration = exec.scenario.iterationInTest
  const first = groupStart(iteration, config.sensors, perRequest)
  const entries = batchOf(model, first, config.batch, config.perSensor, config.sites, Date.now(), config.stepMs)
  const res = http.post(ingestUrl(baseUrlFor(config, iteration), config.ack), readingsBody(entries), params)
  const outcome = ingestOutcome(res.status, typeof res.body === "string" ? res.body : null)
  check(outcome, {
    "status is 202": () => res.status === 202,
    "accepted + rejected = batch": (o) => o.accepted + o.rejectedTotal === config.batch
  })
  readingsAccepted.add(outcome.accepted)
  for (const [reason, count] of Object.entries(outcome.rejected)) readingsRejected.add(count, { reason })
  overloaded.add(outcome.overloaded)
  if (outcome.error !== null) ingestErrors.add(1, { code: outcome.error })
}

export default ingest
