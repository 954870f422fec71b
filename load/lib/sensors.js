// @ts-check
// The sensor id space and a value model that looks like a plant: smooth process signals with noise,
// rare spikes and stuck runs, and totalizers that only count up. No k6 or Node imports.
import { hash32, uniformAt } from "./prng.js"

/** @typedef {"flow" | "level" | "pressure" | "totalizer"} SensorKind */

/**
 * @typedef {object} SensorProfile a sensor's signal, fixed by (seed, index)
 * @property {SensorKind} kind
 * @property {number} offset the signal's mean (a totalizer's count at epoch 0)
 * @property {number} amplitude of the sine (0 for a totalizer)
 * @property {number} periodMs of the sine, 60–600 s
 * @property {number} phase radians
 * @property {number} noise standard deviation of the Gaussian noise (0 for a totalizer)
 * @property {number} sigma standard deviation of the whole signal; a spike is 8 of these away
 * @property {number} ratePerHour how fast a totalizer counts (0 for the others)
 */

/**
 * @typedef {object} ValueModelOptions
 * @property {number} [spikeRate] probability that a reading is a spike (default 0.001)
 * @property {number} [stuckRate] probability that a reading starts a stuck run (default 0.0005)
 */

/**
 * @typedef {object} ValueModel
 * @property {(index: number, tMs: number) => number} next the sensor's reading at tMs; call it
 *   in ts order per sensor (stuck runs and totalizers depend on the previous reading)
 * @property {(index: number) => SensorProfile} profile
 */

export const DEFAULT_SPIKE_RATE = 0.001
export const DEFAULT_STUCK_RATE = 0.0005
/** A spike lands this many signal standard deviations away: far past the node's default spikeSigma (6). */
export const SPIKE_SIGMAS = 8
export const STUCK_MIN_READINGS = 5
export const STUCK_MAX_READINGS = 50
/** Values carry the resolution of a real transmitter; it also keeps bodies short. */
const RESOLUTION = 1000
const TWO_PI = 2 * Math.PI

/**
 * @param {number} index
 * @returns {SensorKind}
 */
export const sensorKind = (index) => {
  switch (index % 4) {
    case 0:
      return "flow"
    case 1:
      return "level"
    case 2:
      return "pressure"
    default:
      return "totalizer"
  }
}

/**
 * `site-${index % sites}/${kind}-${index}`, e.g. `site-3/pressure-42`.
 * @param {number} index 0-based
 * @param {number} sites
 * @returns {string}
 */
export const sensorId = (index, sites) => `site-${index % sites}/${sensorKind(index)}-${index}`

/**
 * The sensors a device streams: device d of n owns indexes d, d + n, d + 2n, ... below
 * max(sensors, devices), so no two devices ever write the same sensor (out_of_order otherwise).
 * @param {number} device 0-based
 * @param {number} devices
 * @param {number} sensors
 * @param {number} [offset] added to every index, to keep the devices' sensors apart from another load's
 * @returns {Array<number>}
 */
export const deviceSensors = (device, devices, sensors, offset = 0) => {
  const owned = []
  const end = Math.max(sensors, devices)
  for (let index = device; index < end; index += devices) owned.push(index + offset)
  return owned
}

/**
 * The sensors a dashboard watches: a run of perDashboard consecutive indexes starting at
 * dashboard * perDashboard, wrapping over the sensor space, so dashboards spread evenly over it.
 * @param {number} dashboard 0-based
 * @param {number} perDashboard
 * @param {number} sensors
 * @returns {Array<number>}
 */
export const dashboardSensors = (dashboard, perDashboard, sensors) => {
  const watched = []
  const count = Math.min(perDashboard, sensors)
  for (let k = 0; k < count; k++) watched.push((dashboard * perDashboard + k) % sensors)
  return watched
}

/**
 * @param {number} seed
 * @param {number} index
 * @returns {SensorProfile}
 */
const makeProfile = (seed, index) => {
  const key = hash32(seed, index)
  const kind = sensorKind(index)
  const periodMs = 60_000 + Math.floor(uniformAt(key, 0) * 540_000)
  const phase = uniformAt(key, 1) * TWO_PI
  /** @param {number} k @param {number} lo @param {number} hi */
  const between = (k, lo, hi) => lo + uniformAt(key, k) * (hi - lo)
  if (kind === "totalizer") {
    return { kind, offset: between(2, 1e3, 1e6), amplitude: 0, periodMs, phase, noise: 0, sigma: 0, ratePerHour: between(3, 1, 100) }
  }
  // flow in m³/h, level in m, pressure in bar: offsets and relative swings of real plants
  const offset = kind === "flow" ? between(2, 20, 200) : kind === "level" ? between(2, 1, 10) : between(2, 2, 10)
  const swing = kind === "flow" ? between(3, 0.1, 0.4) : kind === "level" ? between(3, 0.05, 0.3) : between(3, 0.05, 0.15)
  const amplitude = offset * swing
  const noise = amplitude * 0.02
  return { kind, offset, amplitude, periodMs, phase, noise, sigma: Math.sqrt((amplitude * amplitude) / 2 + noise * noise), ratePerHour: 0 }
}

/**
 * The signal without noise, spikes or stuck runs.
 * @param {SensorProfile} profile
 * @param {number} tMs
 * @returns {number}
 */
export const cleanValue = (profile, tMs) =>
  profile.kind === "totalizer"
    ? profile.offset + (profile.ratePerHour * tMs) / 3_600_000
    : profile.offset + profile.amplitude * Math.sin((TWO_PI * tMs) / profile.periodMs + profile.phase)

/** @param {number} value */
const quantize = (value) => Math.round(value * RESOLUTION) / RESOLUTION

/**
 * Readings for any sensor at any time, deterministic for a seed: every draw is keyed by
 * (seed, sensor, ts), so the value does not depend on which other sensors were asked first. Keeps
 * one small record per sensor asked (its profile and stuck state).
 * @param {number} seed
 * @param {ValueModelOptions} [options]
 * @returns {ValueModel}
 */
export const createValueModel = (seed, options = {}) => {
  const spikeRate = options.spikeRate ?? DEFAULT_SPIKE_RATE
  const stuckRate = options.stuckRate ?? DEFAULT_STUCK_RATE
  /** @type {Map<number, { profile: SensorProfile, last: number | null, stuckLeft: number, resuming: boolean }>} */
  const sensors = new Map()
  const sensorSeed = hash32(seed, 0x5eed)

  /** @param {number} index */
  const sensor = (index) => {
    let state = sensors.get(index)
    if (state === undefined) {
      state = { profile: makeProfile(sensorSeed, index), last: null, stuckLeft: 0, resuming: false }
      sensors.set(index, state)
    }
    return state
  }

  /**
   * @param {number} index
   * @param {number} tMs
   * @returns {number}
   */
  const next = (index, tMs) => {
    const state = sensor(index)
    if (state.last !== null && state.stuckLeft > 0) {
      state.stuckLeft--
      state.resuming = state.stuckLeft === 0
      return state.last
    }
    const key = hash32(hash32(seed, index), Math.floor(tMs))
    // the reading after a stuck run is a fresh one, so runs never merge into one longer than 50
    if (state.last !== null && !state.resuming && uniformAt(key, 0) < stuckRate) {
      const length = STUCK_MIN_READINGS + Math.floor(uniformAt(key, 1) * (STUCK_MAX_READINGS - STUCK_MIN_READINGS + 1))
      state.stuckLeft = length - 1
      return state.last
    }
    state.resuming = false
    const profile = state.profile
    let value = cleanValue(profile, tMs)
    if (profile.kind !== "totalizer") {
      // Box–Muller; 1 - u is in (0, 1], so the logarithm stays finite (|noise| < 6.7 noise sigmas)
      value += profile.noise * Math.sqrt(-2 * Math.log(1 - uniformAt(key, 2))) * Math.cos(TWO_PI * uniformAt(key, 3))
    }
    value = quantize(value)
    state.last = value
    if (profile.kind !== "totalizer" && uniformAt(key, 4) < spikeRate) {
      // a spike is a glitch: a stuck run that follows repeats the last real value, not the spike
      return quantize(value + (uniformAt(key, 5) < 0.5 ? -1 : 1) * SPIKE_SIGMAS * profile.sigma)
    }
    return value
  }

  return { next, profile: (index) => sensor(index).profile }
}
