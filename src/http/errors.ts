/**
 * Every error the API answers, as `{ error, message, details? }` with its HTTP status. Each code is
 * one thing a client can act on; `message` names the field and the reason.
 */
import { type HttpApiEndpoint, HttpApiSchema, HttpServerResponse } from "@effect/platform"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import { Cause, Runtime, Schema } from "effect"

/** The body of every error: `{ error: <code>, message, details? }`. */
export const errorFields = <Code extends string>(code: Code) => ({
  error: Schema.tag(code),
  message: Schema.String,
  details: Schema.optionalWith(Schema.Unknown, { exact: true })
})

export class MalformedJson extends Schema.Class<MalformedJson>("MalformedJson")(
  errorFields("malformed_json"),
  HttpApiSchema.annotations({ status: 400, description: "The body is not valid JSON" })
) {}

export class InvalidRequest extends Schema.Class<InvalidRequest>("InvalidRequest")(
  errorFields("invalid_request"),
  HttpApiSchema.annotations({ status: 400, description: "A path or query parameter is invalid" })
) {}

export class ValidationFailed extends Schema.Class<ValidationFailed>("ValidationFailed")(
  errorFields("validation_failed"),
  HttpApiSchema.annotations({ status: 422, description: "The body is JSON but not a valid document" })
) {}

export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  errorFields("payload_too_large"),
  HttpApiSchema.annotations({ status: 413, description: "Body size or readings per request over the limit" })
) {}

export class UnsupportedMediaType extends Schema.Class<UnsupportedMediaType>("UnsupportedMediaType")(
  errorFields("unsupported_media_type"),
  HttpApiSchema.annotations({ status: 415, description: "Send Content-Type: application/json (optionally with charset=utf-8)" })
) {}

/** What the edge answers about any JSON body before its schema is looked at: not JSON, too large, not application/json. */
export const withJsonBody = <N extends string, M extends HttpMethod, P, U, B, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, B, H, S, E, R, RE>
) => endpoint.addError(MalformedJson).addError(PayloadTooLarge).addError(UnsupportedMediaType)

export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(
  errorFields("unauthorized"),
  HttpApiSchema.annotations({
    status: 401,
    description: "No credential, or one that is unknown, revoked or expired (with WWW-Authenticate); the message says which"
  })
) {}

export class Forbidden extends Schema.Class<Forbidden>("Forbidden")(
  errorFields("forbidden"),
  HttpApiSchema.annotations({ status: 403, description: "The caller's role does not allow this; the message names the role needed" })
) {}

export class RateLimited extends Schema.Class<RateLimited>("RateLimited")(
  errorFields("rate_limited"),
  HttpApiSchema.annotations({
    status: 429,
    description: "Over the client address or key rate limit; retry after Retry-After (RateLimit-* headers say more)"
  })
) {}

export class SensorNotFound extends Schema.Class<SensorNotFound>("SensorNotFound")(
  errorFields("sensor_not_found"),
  HttpApiSchema.annotations({ status: 404 })
) {}

export class AlertNotFoundError extends Schema.Class<AlertNotFoundError>("AlertNotFoundError")(
  errorFields("alert_not_found"),
  HttpApiSchema.annotations({ status: 404 })
) {}

export class AlertConflict extends Schema.Class<AlertConflict>("AlertConflict")(
  errorFields("alert_resolved"),
  HttpApiSchema.annotations({ status: 409, description: "The alert is already resolved" })
) {}

export class RouteNotFound extends Schema.Class<RouteNotFound>("RouteNotFound")(
  errorFields("not_found"),
  HttpApiSchema.annotations({ status: 404, description: "No route has this path" })
) {}

export class MethodNotAllowed extends Schema.Class<MethodNotAllowed>("MethodNotAllowed")(
  errorFields("method_not_allowed"),
  HttpApiSchema.annotations({ status: 405, description: "The path exists for other methods (listed in Allow)" })
) {}

export class InternalError extends Schema.Class<InternalError>("InternalError")(
  errorFields("internal"),
  HttpApiSchema.annotations({ status: 500, description: "A defect; it was logged" })
) {}

export class ServiceUnavailable extends Schema.Class<ServiceUnavailable>("ServiceUnavailable")(
  errorFields("unavailable"),
  HttpApiSchema.annotations({
    status: 503,
    description: "Overloaded or the database is unreachable; retry after the Retry-After header"
  })
) {}

/** One field-level problem, as listed in `details` of a 422. */
export interface FieldIssue {
  readonly path: string
  readonly message: string
}

/** An answer as data (`body` is sent as JSON): what the lean ingest lane writes itself and the HttpApi path turns into a response. */
export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** A declared error of the API: a schema of the `{ error, message, details? }` shape whose status is annotated. */
export interface ErrorClass {
  new (props: { readonly message: string; readonly details?: unknown }): unknown
  readonly ast: Schema.Schema.AnyNoContext["ast"]
}

const encoders = new Map<ErrorClass, (u: unknown) => unknown>()
const encoderOf = (cls: ErrorClass) => {
  let encode = encoders.get(cls)
  if (encode === undefined) {
    encode = Schema.encodeUnknownSync(cls as unknown as Schema.Schema.AnyNoContext)
    encoders.set(cls, encode)
  }
  return encode
}

/**
 * An error answer as data, made by the declared error class itself: its status from the class's
 * annotation, its body by encoding an instance (so `error` is the class's code). No answer of the
 * API is spelled out by hand beside its declaration.
 */
export const errorAnswer = (cls: ErrorClass, message: string, details?: unknown, headers?: Readonly<Record<string, string>>): Answer => ({
  status: HttpApiSchema.getStatusErrorAST(cls.ast),
  body: encoderOf(cls)(new cls(details === undefined ? { message } : { message, details })),
  ...(headers === undefined ? {} : { headers })
})

/** An answer as the platform's response. */
export const toServerResponse = (a: Answer): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(a.body, { status: a.status, ...(a.headers === undefined ? {} : { headers: a.headers }) })

/** An error answer in the API's shape, for handlers that build their responses themselves. */
export const errorJson = (cls: ErrorClass, message: string, details?: unknown, headers?: Record<string, string>): HttpServerResponse.HttpServerResponse =>
  toServerResponse(errorAnswer(cls, message, details, headers))

/**
 * Decoding a body nested thousands of levels deep overflows the stack (found by the fuzz test): the
 * body's fault, not the node's. Thrown from inside a `runSync` (Schema's decoders) it arrives wrapped
 * in a FiberFailure.
 */
export const isTooDeep = (u: unknown): boolean => {
  const error = Runtime.isFiberFailure(u) ? Cause.squash(u[Runtime.FiberFailureCauseId]) : u
  return error instanceof RangeError && /call stack/i.test(error.message)
}

/** Runs a decoder of client input; input nested too deeply to decode gives `tooDeep()` instead of a throw (any other throw stays one). */
export const refusingTooDeep = <A>(decode: () => A, tooDeep: () => A): A => {
  try {
    return decode()
  } catch (error) {
    if (!isTooDeep(error)) throw error
    return tooDeep()
  }
}
