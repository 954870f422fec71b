/**
 * How a forwarded reading looks outside: the fields of a Redis stream entry and the topic and JSON
 * payload of an MQTT message. A sensor is named as its tenant knows it (`externalId`), beside its
 * tenant; the MQTT topic carries the id inside the node (bare for the default tenant, `acme~pump`
 * for tenant acme's `pump`), so two tenants' sensors never share a topic. Quality is the stored
 * one: `good` (0), or `suspect` (any suspect flag). Plain functions, no Effect.
 */
import { externalId, tenantOf } from "../domain/tenancy.js"

export type QualityName = "good" | "suspect"

export const qualityName = (code: number): QualityName => (code === 0 ? "good" : "suspect")

/** The fields of a stream entry, in the order `pushStreamValues` gives their values. */
export const STREAM_FIELD_NAMES = ["tenant", "sensor", "ts", "value", "quality"] as const

/** Appends one entry's values (tenant, the tenant's sensor id, ts in epoch ms, value, quality) to a batch's arguments. */
export const pushStreamValues = (into: Array<string>, sensor: string, ts: number, value: number, quality: number): void => {
  into.push(tenantOf(sensor), externalId(sensor), String(ts), String(value), qualityName(quality))
}

/** The field-value pairs of one `XADD` entry, as a consumer reads them. */
export const streamFields = (sensor: string, ts: number, value: number, quality: number): Array<string> => {
  const values: Array<string> = []
  pushStreamValues(values, sensor, ts, value, quality)
  return STREAM_FIELD_NAMES.flatMap((name, i) => [name, values[i]!])
}

/** `<prefix>/out/<sensor>`: sensor ids hold no MQTT wildcard (`[A-Za-z0-9._:/-]`); a `/` in one is a topic level. */
export const outTopic = (prefix: string, sensor: string): string => `${prefix}/out/${sensor}`

/**
 * `{"sensor","ts","value","quality"}` built as text: a value is a finite number (decoded at the
 * edge), whose JavaScript text is a JSON number, so nothing is re-stringified.
 */
export const outPayload = (sensor: string, ts: number, value: number, quality: number): string =>
  `{"sensor":${JSON.stringify(externalId(sensor))},"ts":${ts},"value":${value},"quality":"${qualityName(quality)}"}`
