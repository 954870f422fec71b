/**
 * The dashboard and the API share one contract: every answer the API's own success schema allows
 * (generated from the schema, encoded as the node sends it, through JSON) is read by the
 * dashboard's decoder for that endpoint. A field renamed or retyped on the node fails here, not in
 * a user's browser. (It found the sensor page refusing a sensor whose `state` is null.)
 */
import { HttpApi, type HttpApiEndpoint, type HttpApiGroup } from "@effect/platform"
import { Arbitrary, FastCheck, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { FlowmeshApi } from "../../src/http/api.js"
import { alertHistoryOf, alertPageOf } from "../../web/src/alerts.js"
import { meOf } from "../../web/src/me.js"
import { aggregatesOf } from "../../web/src/history-range.js"
import { historyReadingsOf } from "../../web/src/live-window.js"
import { pageOf } from "../../web/src/sensor-list.js"
import { sensorOf } from "../../web/src/sensor-view.js"

const successSchema = (name: string): Schema.Schema<unknown, unknown> => {
  let found: Schema.Schema<unknown, unknown> | undefined
  HttpApi.reflect(FlowmeshApi as unknown as HttpApi.HttpApi<string, HttpApiGroup.HttpApiGroup.Any, never, never>, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group }) => {
      if (`${group.identifier}.${endpoint.name}` === name) found = (endpoint as unknown as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps).successSchema as Schema.Schema<unknown, unknown>
    }
  })
  if (found === undefined) throw new Error(`no endpoint ${name}`)
  return found
}

/** Whether `u` holds a number JSON cannot carry: the node never sends one (ingest refuses them), so neither sample does. */
const hasNonFinite = (u: unknown): boolean =>
  typeof u === "number" ? !Number.isFinite(u) : typeof u === "object" && u !== null ? Object.values(u).some(hasNonFinite) : false

const DECODERS: ReadonlyArray<readonly [endpoint: string, decode: (u: unknown) => unknown]> = [
  ["sensors.list", pageOf],
  ["sensors.get", sensorOf],
  ["sensors.history", historyReadingsOf],
  ["aggregates.sensor", aggregatesOf],
  ["alerts.list", alertPageOf],
  ["alerts.get", alertHistoryOf],
  ["me.get", meOf]
]

describe("dashboard decoders against the API's schemas", () => {
  it.each(DECODERS)("reads every answer %s may give", (endpoint, decode) => {
    const schema = successSchema(endpoint)
    const encode = Schema.encodeSync(schema)
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(schema), (value) => {
        const encoded = encode(value)
        FastCheck.pre(!hasNonFinite(encoded))
        const wire: unknown = JSON.parse(JSON.stringify(encoded))
        expect(decode(wire), JSON.stringify(wire).slice(0, 500)).not.toBeNull()
      }),
      { numRuns: 50 }
    )
  })
})
