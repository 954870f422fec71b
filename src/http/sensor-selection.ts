/** Which sensors a many-sensor query names: exactly one of `prefix` and `sensors` (an id list). */
import { Effect } from "effect"
import { SENSOR_ID_PATTERN } from "../domain/sensor-id.js"
import { internalId } from "../domain/tenancy.js"
import type { SensorSelection } from "../storage/aggregate-repo.js"
import { InvalidRequest } from "./errors.js"

export const MAX_LISTED_SENSORS = 100

export const selectionOf = (tenant: string, prefix: string | undefined, sensors: string | undefined): Effect.Effect<SensorSelection, InvalidRequest> => {
  if ((prefix === undefined) === (sensors === undefined)) {
    return Effect.fail(new InvalidRequest({ message: "prefix: give exactly one of prefix (sensor ids starting with it) and sensors (a comma-separated id list)" }))
  }
  if (sensors === undefined) return Effect.succeed({ kind: "prefix", tenant, prefix: internalId(tenant, prefix ?? "") })
  const ids = [...new Set(sensors.split(","))]
  if (ids.length > MAX_LISTED_SENSORS) {
    return Effect.fail(new InvalidRequest({ message: `sensors: at most ${MAX_LISTED_SENSORS} ids; use prefix for more` }))
  }
  const bad = ids.find((id) => !SENSOR_ID_PATTERN.test(id))
  if (bad !== undefined) {
    return Effect.fail(new InvalidRequest({ message: `sensors: ${JSON.stringify(bad)} is not a sensor id (1-128 of A-Z a-z 0-9 . _ : / -)` }))
  }
  return Effect.succeed({ kind: "ids", ids: ids.map((id) => internalId(tenant, id)) })
}
