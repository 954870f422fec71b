/**
 * The webhooks contract: targets that receive alert notifications (signed, see
 * alerts/webhooks/signature.ts), and the dead letters of deliveries that kept failing. A webhook's
 * secret is write-only: no answer ever contains it.
 */
import { RequiredAccess } from "./auth/policy.js"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { IntParam, TextParam } from "../domain/request-params.js"
import { ServiceUnavailable, withJsonBody } from "./errors.js"

export class WebhookNotFound extends Schema.Class<WebhookNotFound>("WebhookNotFound")(
  { error: Schema.tag("webhook_not_found"), message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

export const WebhookId = TextParam.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: () => "1 to 128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
  })
)

const WebhookPath = Schema.Struct({ id: WebhookId })

export const Severity = Schema.Literal("info", "warning", "critical")

const isHttpUrl = (s: string): boolean => {
  if (!URL.canParse(s)) return false
  const { protocol, hostname } = new URL(s)
  return (protocol === "http:" || protocol === "https:") && hostname !== ""
}

export const WebhookUrl = TextParam.pipe(
  Schema.maxLength(2048),
  Schema.filter(isHttpUrl, { message: () => "must be an absolute http:// or https:// URL" })
)

export const WebhookPut = Schema.Struct({
  url: WebhookUrl,
  secret: TextParam.pipe(Schema.minLength(16), Schema.maxLength(256)).annotations({
    description: "HMAC-SHA256 key of the X-Flowmesh-Signature header; write-only"
  }),
  sensorPrefix: Schema.optionalWith(TextParam.pipe(Schema.minLength(1), Schema.maxLength(256)), { exact: true }).annotations({
    description: "Only alerts of sensors whose id starts with this (summaries: of notifiers under it); absent: all"
  }),
  rules: Schema.optionalWith(Schema.Array(TextParam.pipe(Schema.minLength(1), Schema.maxLength(128))).pipe(Schema.minItems(1), Schema.maxItems(100)), {
    exact: true
  }).annotations({ description: "Only alerts of these rules (summaries always pass); absent: all rules" }),
  minSeverity: Schema.optionalWith(Severity, { exact: true }).annotations({ description: "Default info" }),
  enabled: Schema.optionalWith(Schema.Boolean, { exact: true }).annotations({ description: "Default true" })
}).annotations({ identifier: "WebhookPut", parseOptions: { onExcessProperty: "error", errors: "all" } })

export const WebhookView = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  secretSet: Schema.Literal(true),
  sensorPrefix: Schema.NullOr(Schema.String),
  rules: Schema.NullOr(Schema.Array(Schema.String)),
  minSeverity: Severity,
  enabled: Schema.Boolean,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
}).annotations({ identifier: "Webhook" })

export const DeadLetterView = Schema.Struct({
  id: Schema.Number,
  webhookId: Schema.String,
  eventId: Schema.Number,
  eventType: Schema.String,
  attempts: Schema.Number,
  lastError: Schema.NullOr(Schema.String),
  failedAt: Schema.Number,
  payload: Schema.Unknown
}).annotations({ identifier: "DeadLetter" })

export const DeadLetterPage = Schema.Struct({
  deadLetters: Schema.Array(DeadLetterView),
  next: Schema.NullOr(Schema.Number).annotations({ description: "Pass as `after` for the next page; null on the last" })
}).annotations({ identifier: "DeadLetterPage" })

export class WebhooksApi extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/webhooks").annotate(RequiredAccess, "admin")
      .addSuccess(Schema.Struct({ webhooks: Schema.Array(WebhookView) }))
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.put("put", "/api/v1/webhooks/:id").annotate(RequiredAccess, "admin")
      .setPath(WebhookPath)
      .setPayload(WebhookPut)
      .addSuccess(WebhookView)
      .addError(ServiceUnavailable)
      .pipe(withJsonBody)
  )
  .add(
    HttpApiEndpoint.del("delete", "/api/v1/webhooks/:id").annotate(RequiredAccess, "admin")
      .setPath(WebhookPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(WebhookNotFound)
      .addError(ServiceUnavailable)
      .annotate(OpenApi.Description, "Removes the webhook, its pending deliveries and its dead letters")
  )
  .add(
    HttpApiEndpoint.get("deadLetters", "/api/v1/dead-letters").annotate(RequiredAccess, "operator")
      .setUrlParams(
        Schema.Struct({
          webhook: Schema.optional(WebhookId),
          after: Schema.optional(IntParam(0)),
          limit: Schema.optional(IntParam(1, 1000))
        })
      )
      .addSuccess(DeadLetterPage)
      .addError(ServiceUnavailable)
      .annotate(OpenApi.Description, "Deliveries that failed for good, oldest first")
  )
  .add(
    HttpApiEndpoint.post("replay", "/api/v1/webhooks/:id/replay").annotate(RequiredAccess, "admin")
      .setPath(WebhookPath)
      .addSuccess(Schema.Struct({ replayed: Schema.Number }))
      .addError(WebhookNotFound)
      .addError(ServiceUnavailable)
      .annotate(OpenApi.Description, "Sends the webhook's dead letters again (attempts start over); they leave the dead letters")
  )
  .annotate(OpenApi.Title, "Webhooks") {}
