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

/**
 * The base class of one declared error of the API: its code, its HTTP status and what it means
 * (shown in the OpenAPI document). `class X extends apiError<X>()("X", "code", 404) {}`.
 */
export const apiError =
  <Self>() =>
  <const Code extends string>(identifier: string, code: Code, status: number, description?: string) =>
    Schema.Class<Self>(identifier)(errorFields(code), HttpApiSchema.annotations(description === undefined ? { status } : { status, description }))

export class MalformedJson extends apiError<MalformedJson>()("MalformedJson", "malformed_json", 400, "The body is not valid JSON") {}

export class InvalidRequest extends apiError<InvalidRequest>()("InvalidRequest", "invalid_request", 400, "A path or query parameter is invalid") {}

export class ValidationFailed extends apiError<ValidationFailed>()("ValidationFailed", "validation_failed", 422, "The body is JSON but not a valid document") {}

export class PayloadTooLarge extends apiError<PayloadTooLarge>()("PayloadTooLarge", "payload_too_large", 413, "Body size or readings per request over the limit") {}

export class UnsupportedMediaType extends apiError<UnsupportedMediaType>()("UnsupportedMediaType", "unsupported_media_type", 415, "Send Content-Type: application/json (optionally with charset=utf-8)") {}

/** What the edge answers about any JSON body before its schema is looked at: not JSON, too large, not application/json. */
export const withJsonBody = <N extends string, M extends HttpMethod, P, U, B, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<N, M, P, U, B, H, S, E, R, RE>
) => endpoint.addError(MalformedJson).addError(PayloadTooLarge).addError(UnsupportedMediaType)

export class Unauthorized extends apiError<Unauthorized>()("Unauthorized", "unauthorized", 401, "No credential, or one that is unknown, revoked or expired (with WWW-Authenticate); the message says which") {}

export class Forbidden extends apiError<Forbidden>()("Forbidden", "forbidden", 403, "The caller's role does not allow this; the message names the role needed") {}

export class RateLimited extends apiError<RateLimited>()("RateLimited", "rate_limited", 429, "Over the client address or key rate limit; retry after Retry-After (RateLimit-* headers say more)") {}

export class SensorNotFound extends apiError<SensorNotFound>()("SensorNotFound", "sensor_not_found", 404) {}

export class AlertNotFoundError extends apiError<AlertNotFoundError>()("AlertNotFoundError", "alert_not_found", 404) {}

export class AlertConflict extends apiError<AlertConflict>()("AlertConflict", "alert_resolved", 409, "The alert is already resolved") {}

export class RouteNotFound extends apiError<RouteNotFound>()("RouteNotFound", "not_found", 404, "No route has this path") {}

export class MethodNotAllowed extends apiError<MethodNotAllowed>()("MethodNotAllowed", "method_not_allowed", 405, "The path exists for other methods (listed in Allow)") {}

export class InternalError extends apiError<InternalError>()("InternalError", "internal", 500, "A defect; it was logged") {}

export class ServiceUnavailable extends apiError<ServiceUnavailable>()("ServiceUnavailable", "unavailable", 503, "Overloaded or the database is unreachable; retry after the Retry-After header") {}

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

/**
 * A declared error a handler failed with, as its response (its status and body exactly as the
 * framework would encode them), or null for anything else: answered here, it passes through the
 * edge's post-processing (security headers, Retry-After on 503) like every other answer.
 */
export const declaredErrorResponse = (u: unknown): HttpServerResponse.HttpServerResponse | null => {
  if (typeof u !== "object" || u === null) return null
  const cls: unknown = u.constructor
  if (typeof cls !== "function" || !("ast" in cls)) return null
  const declared = cls as unknown as ErrorClass
  const status = HttpApiSchema.getStatus(declared.ast, 0)
  if (status === 0) return null
  return toServerResponse({ status, body: encoderOf(declared)(u) })
}

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
