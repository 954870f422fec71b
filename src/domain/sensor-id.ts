import { Schema } from "effect"

export const SENSOR_ID_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/

/** 1–128 characters of `[A-Za-z0-9._:/-]`; decoded once at the edge, trusted inside. */
export const SensorId = Schema.String.pipe(
  Schema.pattern(SENSOR_ID_PATTERN, {
    message: () => "must be 1-128 characters of A-Z a-z 0-9 . _ : / -"
  }),
  Schema.brand("SensorId")
).annotations({ identifier: "SensorId", description: "1-128 characters of [A-Za-z0-9._:/-]" })
export type SensorId = typeof SensorId.Type
