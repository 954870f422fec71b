/**
 * The alerts API contract: list (filtered, newest first, keyset-paginated), one alert with its
 * history, and the two manual transitions. Who acknowledges or resolves is recorded (`by`).
 */
import { RequiredAccess } from "./auth/policy.js"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AlertJson } from "../actors/notifier-protocol.js"
import { EpochMsParam, IntParam, TextParam } from "../domain/request-params.js"
import { AlertConflict, AlertNotFoundError, InvalidRequest, ServiceUnavailable, withJsonBody } from "./errors.js"

const AlertPath = Schema.Struct({ id: IntParam(1) })

export const AlertEventJson = Schema.Struct({
  id: Schema.Number,
  event: Schema.String,
  at: Schema.Number,
  actor: Schema.NullOr(Schema.String),
  detail: Schema.Unknown
}).annotations({ identifier: "AlertEvent" })

export const AlertPage = Schema.Struct({
  alerts: Schema.Array(AlertJson),
  next: Schema.NullOr(Schema.String).annotations({ description: "URL of the next (older) page, or null" })
}).annotations({ identifier: "AlertPage" })

export const AlertWithHistory = Schema.Struct({ alert: AlertJson, events: Schema.Array(AlertEventJson) }).annotations({
  identifier: "AlertWithHistory"
})

const Actor = Schema.Struct({
  by: Schema.optionalWith(TextParam.pipe(Schema.minLength(1), Schema.maxLength(128)), { exact: true }).annotations({
    description: "who acts (recorded in the alert's history); default \"api\""
  })
}).annotations({ parseOptions: { onExcessProperty: "error" } })

export class AlertsApi extends HttpApiGroup.make("alerts")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/alerts").annotate(RequiredAccess, "viewer")
      .setUrlParams(
        Schema.Struct({
          status: Schema.optional(Schema.Literal("open", "acknowledged", "resolved")),
          sensor: Schema.optional(TextParam),
          rule: Schema.optional(TextParam),
          from: Schema.optional(EpochMsParam.annotations({ description: "opened at or after (epoch ms)" })),
          to: Schema.optional(EpochMsParam.annotations({ description: "opened before (epoch ms)" })),
          before: Schema.optional(IntParam(1)),
          limit: Schema.optional(IntParam(1, 1000))
        })
      )
      .addSuccess(AlertPage)
      .addError(InvalidRequest)
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.get("get", "/api/v1/alerts/:id").annotate(RequiredAccess, "viewer")
      .setPath(AlertPath)
      .addSuccess(AlertWithHistory)
      .addError(AlertNotFoundError)
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.post("ack", "/api/v1/alerts/:id/ack").annotate(RequiredAccess, "operator")
      .setPath(AlertPath)
      .setPayload(Actor)
      .addSuccess(AlertJson)
      .addError(AlertNotFoundError)
      .addError(AlertConflict)
      .addError(ServiceUnavailable)
      .pipe(withJsonBody)
  )
  .add(
    HttpApiEndpoint.post("resolve", "/api/v1/alerts/:id/resolve").annotate(RequiredAccess, "operator")
      .setPath(AlertPath)
      .setPayload(Actor)
      .addSuccess(AlertJson)
      .addError(AlertNotFoundError)
      .addError(ServiceUnavailable)
      .pipe(withJsonBody)
  )
  .annotate(OpenApi.Title, "Alerts") {}
