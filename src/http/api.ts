/**
 * The HTTP contract: endpoints, their schemas and errors. Handlers live beside it, one module per
 * group. The OpenAPI document at /openapi.json and /docs is generated from this file.
 */
import { type Access, accessTable, RequiredAccess } from "./auth/policy.js"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { ParseResult, Schema } from "effect"
import { SensorStateView } from "../actors/protocol.js"
import { IngestResult, ReadingsBody, Reading, SensorReading, SensorReadingsBody } from "../domain/reading.js"
import { MAX_EPOCH_MS } from "../domain/epoch-range.js"
import { EpochMsParam, IntParam, TextParam } from "../domain/request-params.js"
import { SensorConfig, SensorConfigPatch } from "../domain/sensor-config.js"
import { AggregatesApi, ExportFormatParam } from "./aggregates-api.js"
import { AlertsApi } from "./alerts-api.js"
import { ReportsApi } from "./reports-api.js"
import { InvalidRequest, SensorNotFound, ServiceUnavailable, ValidationFailed, withJsonBody } from "./errors.js"
import { addSecurity } from "./auth/openapi-security.js"
import { KeysApi, MeApi, TenantsApi } from "./keys-api.js"
import { WebhooksApi } from "./webhooks-api.js"

const AckParams = Schema.Struct({
  ack: Schema.optional(
    Schema.Literal("durable", "accepted").annotations({
      description: "durable (default): answer after the commit; accepted: once the sensor actors decided"
    })
  )
})

/** Any text: a well-formed id that names nothing (or another tenant's sensor) is not found, not invalid. */
const SensorPath = Schema.Struct({ id: TextParam })

const ingest = <const Name extends string, const Path extends HttpApiEndpoint.PathSegment>(name: Name, path: Path) =>
  HttpApiEndpoint.post(name, path)
    .annotate(RequiredAccess, "ingest")
    .setUrlParams(AckParams)
    .addSuccess(IngestResult, { status: 202 })
    .addError(ValidationFailed)
    .addError(ServiceUnavailable)
    .pipe(withJsonBody)

export class IngestApi extends HttpApiGroup.make("ingest")
  .add(ingest("postReadings", "/api/v1/readings").setPayload(ReadingsBody))
  .add(
    ingest("postSensorReadings", "/api/v1/sensors/:id/readings")
      .setPath(SensorPath)
      .setPayload(Schema.Union(SensorReading, SensorReadingsBody))
  )
  .add(
    ingest("postIngestReadings", "/ingest/readings")
      .setPayload(Schema.Union(Reading, Schema.Array(Reading), ReadingsBody))
      .annotate(OpenApi.Description, "Seed alias of POST /api/v1/readings: a reading, an array, or { readings }")
  )
  .add(
    ingest("postDeviceReadings", "/devices/:id/readings")
      .setPath(SensorPath)
      .setPayload(Schema.Union(SensorReading, Schema.Array(SensorReading), SensorReadingsBody))
      .annotate(OpenApi.Description, "Seed alias: the device id is the sensor id")
  )
  .annotate(OpenApi.Title, "Ingest") {}

export const SensorView = Schema.Struct({
  id: Schema.String,
  config: SensorConfig,
  overrides: SensorConfigPatch,
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
  state: Schema.NullOr(SensorStateView)
}).annotations({ identifier: "Sensor" })

/** A sensor's status in the list: its actor's, or `offline` while an offline alert is unresolved. */
export const LISTED_STATUSES = ["unknown", "online", "degraded", "fault", "offline"] as const
export type ListedStatus = (typeof LISTED_STATUSES)[number]
const ListedStatus = Schema.Literal(...LISTED_STATUSES)
export const isListedStatus = Schema.is(ListedStatus)

/** `status=fault,offline`: one or more listed statuses, comma-separated. */
const StatusesParam = Schema.transformOrFail(
  Schema.String.annotations({ description: `Comma-separated statuses: ${LISTED_STATUSES.join(", ")}` }),
  Schema.NonEmptyArray(ListedStatus),
  {
    strict: true,
    decode: (s, _, ast) => {
      const parts = s.split(",")
      const bad = parts.find((p) => !isListedStatus(p))
      return bad === undefined
        ? ParseResult.succeed(parts as unknown as readonly [ListedStatus, ...Array<ListedStatus>])
        : ParseResult.fail(
            new ParseResult.Type(ast, s, `must be a comma-separated list of ${LISTED_STATUSES.join(", ")}; ${JSON.stringify(bad)} is none of them`)
          )
    },
    encode: (a) => ParseResult.succeed(a.join(","))
  }
)

export const SensorSummary = Schema.Struct({
  id: Schema.String,
  status: ListedStatus,
  lastSeen: Schema.NullOr(Schema.Number).annotations({ description: "ts of the newest accepted reading (epoch ms), or null before the first" }),
  lastValue: Schema.NullOr(Schema.Number).annotations({ description: "Value of the last accepted reading" }),
  suspectShare: Schema.NullOr(Schema.Number).annotations({ description: "Share of its accepted readings that were suspect, or null before the first" }),
  overrides: SensorConfigPatch
}).annotations({
  identifier: "SensorSummary",
  description: "A sensor as of its last snapshot (at most SNAPSHOT_INTERVAL_MS old); GET /api/v1/sensors/{id} answers live"
})

export const HistoryReading = Schema.Struct({
  ts: Schema.Number,
  value: Schema.Number,
  quality: Schema.Literal("good", "suspect"),
  reasons: Schema.Array(Schema.String)
})

export const HistoryPage = Schema.Struct({
  sensor: Schema.String,
  readings: Schema.Array(HistoryReading),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next (older) page, or null" })
}).annotations({ identifier: "HistoryPage" })

export class SensorsApi extends HttpApiGroup.make("sensors")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/sensors").annotate(RequiredAccess, "viewer")
      .setUrlParams(
        Schema.Struct({
          prefix: Schema.optional(TextParam),
          after: Schema.optional(TextParam),
          limit: Schema.optional(IntParam(1, 1000)),
          status: Schema.optional(StatusesParam)
        })
      )
      .addSuccess(Schema.Struct({ sensors: Schema.Array(SensorSummary), next: Schema.NullOr(Schema.String) }))
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/sensors/:id").annotate(RequiredAccess, "viewer")
      .setPath(SensorPath)
      .addSuccess(SensorView)
      .addError(SensorNotFound)
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.put("put", "/api/v1/sensors/:id").annotate(RequiredAccess, "operator")
      .setPath(SensorPath)
      .setPayload(SensorConfigPatch)
      .addSuccess(SensorView)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
      .pipe(withJsonBody)
  )
  .add(
    HttpApiEndpoint.del("delete", "/api/v1/sensors/:id").annotate(RequiredAccess, "operator")
      .setPath(SensorPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(SensorNotFound)
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.get("history", "/api/v1/sensors/:id/readings").annotate(RequiredAccess, "viewer")
      .setPath(SensorPath)
      .setUrlParams(
        Schema.Struct({
          from: Schema.optional(EpochMsParam.annotations({ description: "at or after (epoch ms); default 0" })),
          to: Schema.optional(EpochMsParam.annotations({ description: `before (epoch ms); default ${MAX_EPOCH_MS}` })),
          limit: Schema.optional(IntParam(1)),
          format: Schema.optional(ExportFormatParam)
        })
      )
      .addSuccess(HistoryPage)
      .addError(SensorNotFound)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
  )
  .annotate(OpenApi.Title, "Sensors") {}

export const Health = Schema.Struct({ status: Schema.Literal("ok") })
export const Readiness = Schema.Struct({
  status: Schema.Literal("ready", "not_ready"),
  checks: Schema.Struct({
    database: Schema.Boolean,
    cluster: Schema.Boolean,
    redis: Schema.NullOr(Schema.Boolean).annotations({
      description: "null when REDIS_URL is not set; Redis down does not make the node unready (ingestion does not need it)"
    }),
    writer: Schema.Boolean.annotations({
      description: "false while a flush has been failing or hung for longer than WRITER_STALL_MS"
    }),
    mqtt: Schema.NullOr(Schema.Boolean).annotations({
      description: "null when MQTT_URL is not set; true when every MQTT_CONNECTIONS broker connection is up. The broker down does not make the node unready (HTTP and WebSocket ingest do not need it)"
    })
  }),
  writer: Schema.optionalWith(Schema.Struct({ stalledMs: Schema.Number, lastError: Schema.NullOr(Schema.String) }), {
    exact: true
  })
})

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").annotate(RequiredAccess, "public").addSuccess(Health))
  .add(
    HttpApiEndpoint.get("ready", "/ready").annotate(RequiredAccess, "public")
      .addSuccess(Readiness)
      .addError(Readiness.annotations(HttpApiSchema.annotations({ status: 503 })))
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics").annotate(RequiredAccess, "public")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }))
      .annotate(OpenApi.Description, "Prometheus metrics")
  )
  .annotate(OpenApi.Title, "System") {}

export class FlowmeshApi extends HttpApi.make("flowmesh")
  .add(IngestApi)
  .add(SensorsApi)
  .add(AggregatesApi)
  .add(ReportsApi)
  .add(WebhooksApi)
  .add(AlertsApi)
  .add(KeysApi)
  .add(TenantsApi)
  .add(MeApi)
  .add(SystemApi)
  .annotate(OpenApi.Title, "flowmesh")
  .annotate(OpenApi.Description, "Real-time IoT telemetry: ingest readings, manage sensors, read history")
  .annotate(OpenApi.Transform, (spec) => addSecurity(spec, ENDPOINT_ACCESS)) {}

/** Every endpoint's access by `group.endpoint` (its OpenAPI operationId), read off the definitions above. */
export const ENDPOINT_ACCESS: Readonly<Record<string, Access>> = accessTable(FlowmeshApi)
