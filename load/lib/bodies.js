// @ts-check
// Request bodies and WebSocket frames of the contract in README.md ("API", "WebSocket"). No k6 or
// Node imports.
import { sensorId } from "./sensors.js"

/**
 * @typedef {object} ReadingEntry one reading of `POST /api/v1/readings` and of a device frame
 * @property {string} sensor
 * @property {number} ts epoch ms
 * @property {number} value
 */

/**
 * @param {ReadonlyArray<ReadingEntry>} entries
 * @returns {string} `{"readings":[...]}`
 */
export const readingsBody = (entries) => JSON.stringify({ readings: entries })

/**
 * Sensors one request covers when it carries `batch` readings, `perSensor` of each sensor.
 * @param {number} batch
 * @param {number} perSensor
 * @returns {number}
 */
export const sensorsPerRequest = (batch, perSensor) => Math.ceil(batch / perSensor)

/**
 * The first sensor index of the n-th request: requests walk over disjoint groups of sensors, so a
 * sensor is asked again only after every other group was (its ts keep increasing between requests
 * as long as a request of its group is answered before the group's next turn).
 * @param {number} iteration any non-negative integer unique per request (k6: exec.scenario.iterationInTest)
 * @param {number} sensors the size of the sensor space
 * @param {number} perRequest sensors per request (sensorsPerRequest)
 * @returns {number}
 */
export const groupStart = (iteration, sensors, perRequest) => {
  const groups = Math.max(1, Math.floor(sensors / perRequest))
  return (iteration % groups) * perRequest
}

/**
 * `count` readings over consecutive sensors from `firstIndex`, `perSensor` readings each (the last
 * sensor may get fewer), `stepMs` apart and ending at `tMs`: a gateway forwarding the samples it
 * buffered, so ts never lie in the future and strictly increase per sensor. Values come from the
 * model, asked in ts order.
 * @param {{ next: (index: number, tMs: number) => number }} model
 * @param {number} firstIndex
 * @param {number} count
 * @param {number} perSensor
 * @param {number} sites
 * @param {number} tMs the newest reading's ts (the send time)
 * @param {number} stepMs
 * @returns {Array<ReadingEntry>}
 */
export const batchOf = (model, firstIndex, count, perSensor, sites, tMs, stepMs) => {
  /** @type {Array<ReadingEntry>} */
  const entries = []
  for (let first = 0; first < count; first += perSensor) {
    const index = firstIndex + first / perSensor
    const sensor = sensorId(index, sites)
    const n = Math.min(perSensor, count - first)
    for (let k = 0; k < n; k++) {
      const ts = tMs - (n - 1 - k) * stepMs
      entries.push({ sensor, ts, value: model.next(index, ts) })
    }
  }
  return entries
}

/**
 * @param {number} seq
 * @param {ReadonlyArray<ReadingEntry>} entries
 * @returns {string} `{"type":"readings","seq":n,"readings":[...]}` for `/ws/devices`
 */
export const deviceFrame = (seq, entries) => JSON.stringify({ type: "readings", seq, readings: entries })

/**
 * @param {ReadonlyArray<string>} sensors ids or prefix patterns ending in `*` (`site-7/*`)
 * @returns {string} `{"type":"subscribe","sensors":[...]}` for `/ws/live`
 */
export const subscribeFrame = (sensors) => JSON.stringify({ type: "subscribe", sensors })
