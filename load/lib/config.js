// @ts-check
// Every setting of the load scenarios, read from environment variables (k6 passes `__ENV`, the Node
// driver `process.env`) and validated in one place: a bad value names its variable. No k6 or Node
// imports.
import { sensorsPerRequest } from "./bodies.js"

/** @typedef {{ target: number, duration: string }} RampStage k6's Stage: ramp to target arrivals/s over duration */

/**
 * @typedef {object} LoadConfig
 * @property {string} baseUrl the first of baseUrls
 * @property {Array<string>} baseUrls the nodes to spread the load over (BASE_URL may list several,
 *   e.g. every node of a cluster), without trailing slashes
 * @property {number} rate arrivals (requests) per second of the HTTP ingest
 * @property {string} duration as given, k6 syntax (`30s`, `2m`, `1m30s`)
 * @property {number} durationMs
 * @property {Array<RampStage> | null} ramp stages of a ramping arrival rate (from 0), instead of rate for duration
 * @property {number} runMs how long the arrivals last: the ramp's total, else durationMs
 * @property {number} peakRate the highest arrival rate: the ramp's highest target, else rate
 * @property {number} vus VUs k6 pre-allocates for an arrival-rate scenario
 * @property {number} maxVus VUs it may grow to
 * @property {number} sensors size of the sensor id space
 * @property {number} sites
 * @property {number} batch readings per request
 * @property {number} perSensor readings of one sensor per request
 * @property {number} stepMs ts spacing of one sensor's readings within a request
 * @property {"durable" | "accepted"} ack
 * @property {number} devices WebSocket device connections
 * @property {number} frameIntervalMsMin
 * @property {number} frameIntervalMsMax
 * @property {number} dashboards WebSocket dashboard connections
 * @property {number} sensorsPerDashboard
 * @property {number} historyRate history queries per second (mixed.js)
 * @property {number} p95Ms threshold on the 95th percentile latency
 * @property {number} p99Ms threshold on the 99th percentile latency
 * @property {number} maxErrorRate threshold on failed requests or frames, 0..1
 * @property {number} maxLagged threshold on live items the node dropped for slow dashboards
 * @property {number} spikeRate
 * @property {number} stuckRate
 * @property {number} seed
 */

/** @typedef {{ ok: true, config: LoadConfig } | { ok: false, errors: Array<string> }} ConfigResult */

/**
 * @template T
 * @typedef {object} Parser
 * @property {string} rule what a valid value looks like, for the error message
 * @property {(text: string) => T | undefined} parse undefined when invalid
 */

/** @type {Parser<number>} */
const positiveNumber = {
  rule: "must be a positive number",
  parse: (text) => {
    const n = Number(text)
    return Number.isFinite(n) && n > 0 ? n : undefined
  }
}

/**
 * @param {number} min
 * @param {number} max
 * @returns {Parser<number>}
 */
const integerFrom = (min, max = Number.MAX_SAFE_INTEGER) => ({
  rule:
    max === Number.MAX_SAFE_INTEGER
      ? min === 1
        ? "must be a positive integer"
        : `must be an integer of at least ${min}`
      : `must be an integer from ${min} to ${max}`,
  parse: (text) => {
    const n = Number(text)
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined
  }
})

/** @type {Parser<number>} */
const fraction = {
  rule: "must be a number from 0 to 1",
  parse: (text) => {
    const n = Number(text)
    return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined
  }
}

/** @type {Parser<Array<string>>} */
const httpUrls = {
  rule: "must be an http:// or https:// URL, or several separated by commas",
  parse: (text) => {
    const urls = text.split(",").map((url) => url.trim())
    const valid = urls.every((url) => /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(url))
    return valid ? urls.map((url) => url.replace(/\/+$/, "")) : undefined
  }
}

/** @type {Parser<"durable" | "accepted">} */
const ackMode = {
  rule: "must be durable or accepted",
  parse: (text) => (text === "durable" || text === "accepted" ? text : undefined)
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * k6's duration syntax: one or more <number><unit> with unit ms, s, m or h (`500ms`, `30s`, `1m30s`).
 * @param {string} text
 * @returns {number | undefined} milliseconds, undefined when invalid or not positive
 */
export const parseDurationMs = (text) => {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/g
  let ms = 0
  for (let match = part.exec(text); match !== null; match = part.exec(text)) {
    const unit = match[2]
    ms += Number(match[1]) * (unit === "ms" ? UNIT_MS.ms : unit === "s" ? UNIT_MS.s : unit === "m" ? UNIT_MS.m : UNIT_MS.h)
  }
  return ms > 0 ? ms : undefined
}

/** @type {Parser<{ text: string, ms: number }>} */
const duration = {
  rule: "must be a duration like 30s, 2m or 1m30s",
  parse: (text) => {
    const ms = parseDurationMs(text)
    return ms === undefined ? undefined : { text, ms }
  }
}

/** @type {Parser<Array<RampStage>>} */
const rampStages = {
  rule: "must be comma-separated <whole arrivals/s>:<duration> stages like 100:30s,1000:1m",
  parse: (text) => {
    /** @type {Array<RampStage>} */
    const stages = []
    for (const part of text.split(",")) {
      const match = /^\s*(\d+):([^\s]+)\s*$/.exec(part)
      if (match === null || match[1] === undefined || match[2] === undefined) return undefined
      if (parseDurationMs(match[2]) === undefined) return undefined
      stages.push({ target: Number(match[1]), duration: match[2] })
    }
    return stages
  }
}

export const DEFAULT_BASE_URL = "http://127.0.0.1:8080"

/**
 * Reads and validates every setting; unset or empty variables take their defaults.
 * @param {Record<string, string | undefined>} env
 * @returns {ConfigResult}
 */
export const readConfig = (env) => {
  /** @type {Array<string>} */
  const errors = []
  /**
   * @template T
   * @param {string} name
   * @param {T} fallback
   * @param {Parser<T>} parser
   * @returns {T}
   */
  const read = (name, fallback, parser) => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === "") return fallback
    const value = parser.parse(raw.trim())
    if (value !== undefined) return value
    errors.push(`${name}: ${parser.rule}, got ${JSON.stringify(raw)}`)
    return fallback
  }

  const baseUrls = read("BASE_URL", [DEFAULT_BASE_URL], httpUrls)
  const rate = read("RATE", 100, positiveNumber)
  const runFor = read("DURATION", { text: "30s", ms: 30_000 }, duration)
  const ramp = read("RAMP", null, rampStages)
  const vus = read("VUS", 20, integerFrom(1))
  const maxVus = read("MAX_VUS", 200, integerFrom(1))
  const sensors = read("SENSORS", 1000, integerFrom(1))
  const sites = read("SITES", 10, integerFrom(1))
  const batch = read("BATCH", 10, integerFrom(1, 5000))
  const perSensor = read("PER_SENSOR", 1, integerFrom(1, 5000))
  const stepMs = read("STEP_MS", 10, integerFrom(1))
  const ack = read("ACK", "durable", ackMode)
  const devices = read("DEVICES", 10, integerFrom(1))
  const frameIntervalMsMin = read("FRAME_INTERVAL_MS_MIN", 100, integerFrom(0))
  const frameIntervalMsMax = read("FRAME_INTERVAL_MS_MAX", 1000, integerFrom(0))
  const dashboards = read("DASHBOARDS", 5, integerFrom(1))
  const sensorsPerDashboard = read("SENSORS_PER_DASHBOARD", 10, integerFrom(1))
  const historyRate = read("HISTORY_RATE", 10, positiveNumber)
  const p95Ms = read("P95_MS", 250, positiveNumber)
  const p99Ms = read("P99_MS", 500, positiveNumber)
  const maxErrorRate = read("MAX_ERROR_RATE", 0.01, fraction)
  const maxLagged = read("MAX_LAGGED", 0, integerFrom(0))
  const spikeRate = read("SPIKE_RATE", 0.001, fraction)
  const stuckRate = read("STUCK_RATE", 0.0005, fraction)
  const seed = read("SEED", 1, integerFrom(0))

  const runMs = ramp === null ? runFor.ms : ramp.reduce((sum, stage) => sum + (parseDurationMs(stage.duration) ?? 0), 0)
  const peakRate = ramp === null ? rate : Math.max(...ramp.map((stage) => stage.target))
  /** @param {string} name @param {number} value @param {string} rule */
  const reject = (name, value, rule) => errors.push(`${name}: ${rule}, got "${value}"`)
  if (maxVus < vus) reject("MAX_VUS", maxVus, `must be at least VUS (${vus})`)
  if (frameIntervalMsMax < frameIntervalMsMin) {
    reject("FRAME_INTERVAL_MS_MAX", frameIntervalMsMax, `must be at least FRAME_INTERVAL_MS_MIN (${frameIntervalMsMin})`)
  }
  if (perSensor > batch) reject("PER_SENSOR", perSensor, `must be at most BATCH (${batch})`)
  const perRequest = sensorsPerRequest(batch, perSensor)
  if (sensors < perRequest) reject("SENSORS", sensors, `must be at least the ${perRequest} sensors of one request (BATCH / PER_SENSOR)`)
  if (sensorsPerDashboard > sensors) reject("SENSORS_PER_DASHBOARD", sensorsPerDashboard, `must be at most SENSORS (${sensors})`)
  // A sensor's next request must carry later ts than its previous one, or the node rejects them as
  // out_of_order or duplicate: its group's turn must come after the previous request's last ts.
  const turnMs = (Math.max(1, Math.floor(sensors / perRequest)) / Math.max(peakRate, 1e-9)) * 1000
  if (errors.length === 0 && (perSensor - 1) * stepMs + 1 > turnMs) {
    reject(
      "STEP_MS",
      stepMs,
      `must keep a sensor's ${perSensor} readings per request within the ${Math.floor(turnMs)} ms between its requests at ${peakRate} requests/s (raise SENSORS, lower STEP_MS, PER_SENSOR or RATE)`
    )
  }
  if (errors.length > 0) return { ok: false, errors }
  return {
    ok: true,
    config: {
      baseUrl: baseUrls[0] ?? DEFAULT_BASE_URL,
      baseUrls,
      rate,
      duration: runFor.text,
      durationMs: runFor.ms,
      ramp,
      runMs,
      peakRate,
      vus,
      maxVus,
      sensors,
      sites,
      batch,
      perSensor,
      stepMs,
      ack,
      devices,
      frameIntervalMsMin,
      frameIntervalMsMax,
      dashboards,
      sensorsPerDashboard,
      historyRate,
      p95Ms,
      p99Ms,
      maxErrorRate,
      maxLagged,
      spikeRate,
      stuckRate,
      seed
    }
  }
}

/**
 * The node that the n-th request, device or dashboard talks to: round robin over BASE_URL's nodes.
 * @param {Pick<LoadConfig, "baseUrl" | "baseUrls">} config
 * @param {number} n any non-negative integer
 * @returns {string}
 */
export const baseUrlFor = (config, n) => config.baseUrls[n % config.baseUrls.length] ?? config.baseUrl

/**
 * The WebSocket URL of a path on the node: `http://h:p` + `/ws/live` → `ws://h:p/ws/live`.
 * @param {string} baseUrl
 * @param {string} path starting with `/`, may carry a query
 * @returns {string}
 */
export const wsUrl = (baseUrl, path) => baseUrl.replace(/\/+$/, "").replace(/^http(s?):\/\//, "ws$1://") + path

/**
 * @param {string} baseUrl
 * @param {"durable" | "accepted"} ack
 * @returns {string}
 */
export const ingestUrl = (baseUrl, ack) => `${baseUrl.replace(/\/+$/, "")}/api/v1/readings?ack=${ack}`

/**
 * `GET /api/v1/sensors/{id}/readings?limit`: the id's `/` is URL-encoded.
 * @param {string} baseUrl
 * @param {string} sensor
 * @param {number} limit
 * @returns {string}
 */
export const historyUrl = (baseUrl, sensor, limit) =>
  `${baseUrl.replace(/\/+$/, "")}/api/v1/sensors/${encodeURIComponent(sensor)}/readings?limit=${limit}`
