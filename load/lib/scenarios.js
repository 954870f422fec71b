// @ts-check
// k6 scenario objects built from the settings, shared by the k6 scripts. Plain data (they match
// k6's `Scenario` type structurally), so this module imports nothing from k6 either.

import { sensorsPerRequest } from "./bodies.js"
import { parseDurationMs } from "./config.js"

/** @typedef {import("./config.js").LoadConfig} LoadConfig */
/** @typedef {import("./config.js").RampStage} RampStage */

/**
 * @typedef {object} ConstantArrivals
 * @property {"constant-arrival-rate"} executor
 * @property {string} exec
 * @property {number} rate
 * @property {string} timeUnit
 * @property {string} duration
 * @property {number} preAllocatedVUs
 * @property {number} maxVUs
 */

/**
 * @typedef {object} DelayedArrivals
 * @property {"constant-arrival-rate"} executor
 * @property {string} exec
 * @property {number} rate
 * @property {string} timeUnit
 * @property {string} duration
 * @property {number} preAllocatedVUs
 * @property {number} maxVUs
 * @property {string} startTime
 */

/**
 * @typedef {object} RampingArrivals
 * @property {"ramping-arrival-rate"} executor
 * @property {string} exec
 * @property {number} startRate
 * @property {string} timeUnit
 * @property {Array<RampStage>} stages
 * @property {number} preAllocatedVUs
 * @property {number} maxVUs
 */

/**
 * @typedef {object} Sessions
 * @property {"per-vu-iterations"} executor
 * @property {string} exec
 * @property {number} vus
 * @property {number} iterations
 * @property {string} maxDuration
 */

/** How long a session may take past its run to drain its last answers and close. */
export const SESSION_GRACE_MS = 15_000

/**
 * `rate` arrivals per second (fractions too) for `runMs`: one iteration of `exec` per arrival.
 * @param {string} exec the exported function k6 runs
 * @param {number} rate
 * @param {number} runMs
 * @param {Pick<LoadConfig, "vus" | "maxVus">} config
 * @returns {ConstantArrivals}
 */
export const constantArrivals = (exec, rate, runMs, config) => ({
  executor: "constant-arrival-rate",
  exec,
  // k6 takes whole arrivals per time unit: 2.5/s is 2500 per 1000 s
  ...(Number.isInteger(rate) ? { rate, timeUnit: "1s" } : { rate: Math.max(1, Math.round(rate * 1000)), timeUnit: "1000s" }),
  duration: `${runMs}ms`,
  preAllocatedVUs: config.vus,
  maxVUs: config.maxVus
})

/**
 * The HTTP ingest's arrivals: RAMP's stages (from 0) when set, else RATE for DURATION.
 * @param {string} exec
 * @param {Pick<LoadConfig, "rate" | "durationMs" | "ramp" | "vus" | "maxVus">} config
 * @returns {ConstantArrivals | RampingArrivals}
 */
export const ingestArrivals = (exec, config) =>
  config.ramp === null
    ? constantArrivals(exec, config.rate, config.durationMs, config)
    : {
        executor: "ramping-arrival-rate",
        exec,
        startRate: 0,
        timeUnit: "1s",
        stages: config.ramp,
        preAllocatedVUs: config.vus,
        maxVUs: config.maxVus
      }

/**
 * `vus` long-lived connections, one iteration each: the iteration keeps its socket open for the run
 * and closes it itself (a WebSocket's lifetime is the iteration's).
 * @param {string} exec
 * @param {number} vus
 * @param {number} runMs
 * @returns {Sessions}
 */
export const sessions = (exec, vus, runMs) => ({
  executor: "per-vu-iterations",
  exec,
  vus,
  iterations: 1,
  maxDuration: `${runMs + SESSION_GRACE_MS}ms`
})

/**
 * When the HTTP ingest has started its n-th request: n / RATE s, or along RAMP's stages (k6 ramps
 * linearly from the previous target, the first from 0).
 * @param {Pick<LoadConfig, "rate" | "ramp">} config
 * @param {number} n
 * @returns {number | null} ms from the start; null when the run never gets there
 */
export const arrivalTimeMs = (config, n) => {
  if (n <= 0) return 0
  if (config.ramp === null) return (n / config.rate) * 1000
  let rate = 0
  let elapsedMs = 0
  let left = n
  for (const stage of config.ramp) {
    const ms = parseDurationMs(stage.duration) ?? 0
    const inStage = (((rate + stage.target) / 2) * ms) / 1000
    if (inStage >= left) {
      // arrivals(t) = rate·t + slope·t²/2 = left; this form of the root is stable for slope 0 and < 0
      const slope = ((stage.target - rate) * 1000) / ms
      return elapsedMs + ((2 * left) / (rate + Math.sqrt(rate * rate + 2 * slope * left))) * 1000
    }
    left -= inStage
    elapsedMs += ms
    rate = stage.target
  }
  return null
}

/** Time for the node to take a sensor's first readings before its history is asked for. */
export const HISTORY_WARM_UP_MARGIN_MS = 2000

/**
 * History queries at HISTORY_RATE, starting once every sensor of the HTTP ingest has been sent its
 * first readings (a sensor never written answers 404), but at the latest half-way through the run.
 * @param {string} exec
 * @param {Pick<LoadConfig, "rate" | "ramp" | "runMs" | "historyRate" | "sensors" | "batch" | "perSensor" | "vus" | "maxVus">} config
 * @returns {DelayedArrivals}
 */
export const historyArrivals = (exec, config) => {
  const groups = Math.max(1, Math.floor(config.sensors / sensorsPerRequest(config.batch, config.perSensor)))
  const warmUpMs = (arrivalTimeMs(config, groups) ?? config.runMs) + HISTORY_WARM_UP_MARGIN_MS
  const startMs = Math.ceil(Math.min(warmUpMs, config.runMs / 2))
  return { ...constantArrivals(exec, config.historyRate, config.runMs - startMs, config), startTime: `${startMs}ms` }
}
