/**
 * The common case of a reading, checked without the Schema machinery: a plain object with a valid
 * sensor id (when expected), a finite numeric value and an epoch-ms ts (or none). Anything else,
 * ISO dates included, returns null and goes through the Schema decoder, which then names the field
 * and the reason. A property test pins that this never accepts what the Schema would reject, nor
 * decodes it differently.
 */
import { isEpochMs, toEpochMs } from "../domain/epoch-range.js"
import { SENSOR_ID_PATTERN } from "../domain/sensor-id.js"
import { MAX_ABS_VALUE } from "../domain/reading.js"

export interface PlainReading {
  readonly sensor: string | undefined
  readonly ts: number | undefined
  readonly value: number
}

export const fastReading = (u: unknown, withSensor: boolean): PlainReading | null => {
  if (typeof u !== "object" || u === null || Array.isArray(u) || Object.getPrototypeOf(u) !== Object.prototype) return null
  let sensor: string | undefined
  let ts: number | undefined
  let value: number | undefined
  for (const key in u) {
    if (!Object.hasOwn(u, key)) return null
    const v: unknown = Reflect.get(u, key)
    if (key === "value") {
      if (typeof v !== "number" || !(Math.abs(v) <= MAX_ABS_VALUE)) return null
      value = v
    } else if (key === "ts") {
      if (typeof v !== "number" || !isEpochMs(v)) return null
      ts = toEpochMs(v)
    } else if (key === "sensor" && withSensor) {
      if (typeof v !== "string" || !SENSOR_ID_PATTERN.test(v)) return null
      sensor = v
    } else {
      return null
    }
  }
  if (value === undefined || (withSensor && sensor === undefined)) return null
  return { sensor, ts, value }
}
