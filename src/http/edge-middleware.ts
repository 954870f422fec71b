/**
 * What every response goes through: the caller is authenticated and authorized for the endpoint
 * (see auth/policy.ts) before its handler runs, unknown routes answer 404 and wrong methods 405
 * (with Allow) as JSON, framework decode errors take the API's `{ error, message, details }` shape,
 * 503s carry Retry-After, every answer carries the security headers, and a defect becomes a
 * logged 500 instead of a dropped connection.
 */
import { HttpApi, HttpApiBuilder, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type { HttpApp } from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import { AppConfig } from "../config.js"
import { DatabaseUnavailable } from "../storage/errors.js"
import { httpResponses, readingsCounter } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"
import { Authenticator, isRefusal } from "./auth/authenticator.js"
import { readCredential } from "./auth/credentials.js"
import { type Access, accessOf, authorize } from "./auth/policy.js"
import { ANONYMOUS, currentPrincipal } from "./auth/principal.js"
import { errorJson } from "./errors.js"
import { RateLimiter, type Verdict } from "./limits/rate-limiter.js"

interface RoutePattern {
  readonly method: string
  readonly regex: RegExp
  /** `group.endpoint`, the key of the access policy. */
  readonly name: string
  readonly access: Access
  /** The path has no parameters: matched by string, not by the regex. */
  readonly path: string | null
}

const toRegex = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\\?:[A-Za-z0-9_]+/g, "[^/]+")}$`)

export const routePatterns = (): ReadonlyArray<RoutePattern> => {
  const out: Array<RoutePattern> = []
  HttpApi.reflect(FlowmeshApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group }) => {
      const name = `${group.identifier}.${endpoint.name}`
      out.push({
        method: endpoint.method,
        regex: toRegex(endpoint.path),
        name,
        access: accessOf(name),
        path: endpoint.path.includes(":") ? null : endpoint.path
      })
    }
  })
  return out
}

const decodeErrorResponse = (e: HttpApiDecodeError) => {
  const first = e.issues[0]
  const where = first === undefined || first.path.length === 0 ? "request" : first.path.join(".")
  return errorJson(400, "invalid_request", `${where}: ${first?.message ?? e.message}`, {
    issues: e.issues.map((i) => ({ path: i.path.join("."), message: i.message }))
  })
}

const routeMiss = (request: HttpServerRequest.HttpServerRequest, patterns: ReadonlyArray<RoutePattern>) => {
  const path = request.url.split("?")[0] ?? "/"
  const allowed = patterns.filter((p) => p.regex.test(path)).map((p) => p.method)
  return allowed.length > 0
    ? errorJson(405, "method_not_allowed", `${request.method} ${path}: allowed ${allowed.join(", ")}`, undefined, {
        allow: allowed.join(", ")
      })
    : errorJson(404, "not_found", `${request.method} ${path}: no such route`)
}

const isRouteNotFound = (u: unknown) =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "RouteNotFound"

/** A body the platform could not read as JSON (the framework-decoded endpoints): its RequestError, or null. */
const undecodableBody = (u: unknown): string | null => {
  if (typeof u !== "object" || u === null || !("_tag" in u) || u._tag !== "RequestError" || !("reason" in u) || u.reason !== "Decode") return null
  const cause = "cause" in u ? u.cause : undefined
  return cause instanceof Error ? cause.message : "unreadable body"
}

/** Decoding a body nested thousands of levels deep overflows the stack (found by the fuzz test): the body's fault, not the node's. */
const isTooDeep = (u: unknown) => u instanceof RangeError && /call stack/i.test(u.message)

/** The platform's answer to a body over the bound: a RequestError whose cause says so. */
const isBodyTooLarge = (u: unknown) =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "RequestError" && "cause" in u && u.cause instanceof Error && u.cause.message === "maxBytes exceeded"

/** Sent with every API answer: nothing here is meant to be framed, sniffed, cached or to send a Referer. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

const withSecurityHeaders = (response: HttpServerResponse.HttpServerResponse) =>
  HttpServerResponse.setHeaders(response, response.headers["cache-control"] === undefined ? SECURITY_HEADERS : { ...SECURITY_HEADERS, "cache-control": response.headers["cache-control"] })

/** The endpoint a request is for: parameterless paths by one map lookup (the ingest hot path), the rest by their regex. */
export const routeIndex = (patterns: ReadonlyArray<RoutePattern>) => {
  const exact = new Map<string, RoutePattern>()
  const parameterized: Array<RoutePattern> = []
  for (const p of patterns) {
    if (p.path !== null) exact.set(`${p.method} ${p.path}`, p)
    else parameterized.push(p)
  }
  return (method: string, path: string): RoutePattern | undefined =>
    exact.get(`${method} ${path}`) ?? parameterized.find((p) => p.method === method && p.regex.test(path))
}

/** 429 with Retry-After and the draft RateLimit-* fields of the limit that refused. */
const tooManyRequests = (v: Extract<Verdict, { readonly allowed: false }>) => {
  const { limit, scope, setting } = v.check
  return errorJson(
    429,
    "rate_limited",
    `over the ${scope === "ip" ? "client address" : "key"} limit of ${limit.ratePerSec} requests/s (burst ${limit.burst}, ${setting}); retry after Retry-After`,
    { scope, retryAfterMs: Math.ceil(v.retryAfterMs) },
    {
      "retry-after": String(Math.max(1, Math.ceil(v.retryAfterMs / 1000))),
      "ratelimit-limit": String(limit.burst),
      "ratelimit-remaining": "0",
      "ratelimit-reset": String(Math.max(1, Math.ceil(v.resetMs / 1000))),
      "ratelimit-policy": `${limit.burst};w=${Math.max(1, Math.round(limit.burst / limit.ratePerSec))}`
    }
  )
}

const unauthorized = (message: string) =>
  errorJson(401, "unauthorized", message, undefined, { "www-authenticate": 'Bearer realm="flowmesh"' })

/**
 * API-level, so it runs inside HttpApi where route misses and decode errors are still errors
 * (outside, the server would already have sent its empty 404).
 */
export const edgeMiddleware = (retryAfterSeconds: number) =>
  HttpApiBuilder.middleware(
    Effect.gen(function* () {
      const auth = yield* Authenticator
      const limiter = yield* RateLimiter
      const { auth: settings, ingest } = yield* AppConfig
      // Every body the framework reads (sensor configs, webhooks, keys...) is bounded like ingest bodies.
      const maxBody = Option.some(ingest.maxBodyBytes)
      const patterns = routePatterns()
      const routeOf = routeIndex(patterns)
      const accessFor = (route: RoutePattern): Access =>
        route.access === "public" && route.name === "system.metrics" && !settings.metricsPublic ? "viewer" : route.access

      /** 413 before reading; an ingest body counts as a malformed one, as the ingest handler counts its own. */
      const tooLarge = (request: HttpServerRequest.HttpServerRequest, declared: number) => {
        if (routeOf(request.method, request.url.split("?")[0] ?? "/")?.name.startsWith("ingest.") === true) readingsCounter.http.malformed.inc()
        return errorJson(413, "payload_too_large", `body: ${declared} bytes; the limit is ${ingest.maxBodyBytes} bytes (MAX_BODY_BYTES)`)
      }

      /**
       * The principal for the request, or the answer that refuses it (401, 403, 429). Public routes
       * (health, readiness, metrics) and unknown ones (the app answers 404/405) pass as anonymous.
       */
      const admit = (request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function* () {
          const path = request.url.split("?")[0] ?? "/"
          const route = routeOf(request.method, path)
          if (route === undefined) return ANONYMOUS
          const access = accessFor(route)
          if (access === "public") return ANONYMOUS
          let principal = ANONYMOUS
          if (auth.required) {
            const credential = readCredential(request.headers)
            const known = auth.cached(credential, Date.now()) ?? (yield* auth.resolve(credential))
            if (isRefusal(known)) return unauthorized(`${request.method} ${path}: ${known.message}`)
            const decision = authorize(access, known)
            if (decision._tag === "Forbidden") return errorJson(403, "forbidden", `${request.method} ${path}: ${decision.message}`)
            principal = known
          }
          if (!limiter.enabled) return principal
          const verdict = yield* limiter.check(Option.getOrElse(request.remoteAddress, () => "unknown"), principal)
          return verdict.allowed ? principal : tooManyRequests(verdict)
        })

      return (app: HttpApp.Default) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          // A declared length over the bound is refused before reading: past the bound the platform
          // stops reading and destroys the request, which would take the answer's socket with it.
          const declared = Number(request.headers["content-length"] ?? 0)
          const admitted =
            declared > ingest.maxBodyBytes
              ? tooLarge(request, declared)
              : auth.required || limiter.enabled
                ? yield* admit(request)
                : ANONYMOUS
          let response = HttpServerResponse.isServerResponse(admitted)
            ? admitted
            : yield* app.pipe(
                Effect.locally(currentPrincipal, admitted),
                HttpIncomingMessage.withMaxBodySize(maxBody),
                Effect.catchAllCause((cause) => {
                  const failure = Cause.squash(cause)
                  if (isRouteNotFound(failure)) return Effect.succeed(routeMiss(request, patterns))
                  if (failure instanceof HttpApiDecodeError) return Effect.succeed(decodeErrorResponse(failure))
                  if (isBodyTooLarge(failure)) {
                    return Effect.succeed(errorJson(413, "payload_too_large", `body: over the limit of ${ingest.maxBodyBytes} bytes (MAX_BODY_BYTES)`))
                  }
                  const undecodable = undecodableBody(failure)
                  if (undecodable !== null) return Effect.succeed(errorJson(400, "malformed_json", `body is not valid JSON: ${undecodable}`))
                  if (failure instanceof DatabaseUnavailable) return Effect.succeed(errorJson(503, "unavailable", failure.message))
                  if (isTooDeep(failure)) return Effect.succeed(errorJson(422, "validation_failed", "body: nested too deeply to decode"))
                  // Typed API errors go on to the framework, which encodes them with their status.
                  if (!Cause.isDie(cause)) return Effect.failCause(cause)
                  return Effect.logError("request failed", cause).pipe(Effect.as(errorJson(500, "internal", "internal error; it was logged")))
                })
              )
          if (response.status === 503 && response.headers["retry-after"] === undefined) {
            response = HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds))
          }
          httpResponses.labels(`${Math.floor(response.status / 100)}xx`).inc()
          return withSecurityHeaders(response)
        }).pipe(Effect.catchTag("DatabaseUnavailable", (e) => Effect.succeed(errorJson(503, "unavailable", `${e.message}; credentials could not be checked`, undefined, { "retry-after": String(retryAfterSeconds) }))))
    })
  )
