/**
 * What every response goes through: a request target that is not percent-encoded UTF-8 answers
 * 400, a body over MAX_BODY_BYTES 413 before anything reads it, the caller is authenticated and
 * authorized for the endpoint (see auth/policy.ts) before its handler runs, a body that is not
 * JSON 415 (none where one is needed 400), unknown routes answer 404 and wrong methods 405 (with
 * Allow) as JSON, framework decode errors take the API's `{ error, message, details }` shape naming
 * the field, 503s carry Retry-After, every answer carries the security headers, and a defect
 * becomes a logged 500 instead of a dropped connection.
 */
import { HttpApi, HttpApiBuilder, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type { HttpApp } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Cause, Effect, Option } from "effect"
import { AppConfig } from "../config.js"
import { DatabaseUnavailable } from "../storage/errors.js"
import { httpResponses, readingsCounter } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"
import { Authenticator, isRefusal } from "./auth/authenticator.js"
import { readCredential } from "./auth/credentials.js"
import { type Access, accessOf, authorize } from "./auth/policy.js"
import { ANONYMOUS, currentPrincipal, type Principal } from "./auth/principal.js"
import { declaredErrorResponse, errorJson, Forbidden, InternalError, InvalidRequest, isTooDeep, MalformedJson, MethodNotAllowed, PayloadTooLarge, RateLimited, RouteNotFound, ServiceUnavailable, Unauthorized, UnsupportedMediaType } from "./errors.js"
import { RateLimiter, type Verdict } from "./limits/rate-limiter.js"
import { hasBody, isJsonMediaType, targetProblem } from "./request-shape.js"
import { drainBound, EdgeServer } from "./ws/edge-server.js"

interface RoutePattern {
  readonly method: string
  readonly regex: RegExp
  /** `group.endpoint`, the key of the access policy. */
  readonly name: string
  readonly access: Access
  /** The path has no parameters: matched by string, not by the regex. */
  readonly path: string | null
  /** The endpoint reads a JSON body. */
  readonly body: boolean
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
        access: accessOf(endpoint),
        path: endpoint.path.includes(":") ? null : endpoint.path,
        body: Option.isSome(endpoint.payloadSchema) && endpoint.method !== "GET"
      })
    }
  })
  return out
}

/** The path to a bad field as a message names it, `rules.0.high`; a key that is not a plain name is quoted: `["\u0000"]`. */
const formatPath = (path: ReadonlyArray<PropertyKey>) =>
  path.reduce<string>((out, key) => {
    const k = String(key)
    if (!/^[\w-]+$/.test(k)) return `${out}[${JSON.stringify(k)}]`
    return out === "" ? k : `${out}.${k}`
  }, "")

/** An optional parameter's other branch ("Expected undefined"), beside the issue that says what is wrong. */
const isAbsentBranch = (i: { readonly message: string }) => i.message.startsWith("Expected undefined, actual")

const decodeErrorResponse = (e: HttpApiDecodeError) => {
  const issues = e.issues.map((i) => ({ path: formatPath(i.path), message: i.message }))
  const named = issues.filter((i) => !isAbsentBranch(i) || !issues.some((o) => o.path === i.path && !isAbsentBranch(o)))
  const first = named[0]
  // Parameters decode as a struct, so a failure of the whole value is the body's.
  const where = first === undefined || first.path === "" ? "body" : first.path
  return errorJson(InvalidRequest, `${where}: ${first?.message ?? e.message}`, { issues: named })
}

const pathOf = (url: string) => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

const routeMiss = (request: HttpServerRequest.HttpServerRequest, patterns: ReadonlyArray<RoutePattern>) => {
  const path = pathOf(request.url)
  const allowed = patterns.filter((p) => p.regex.test(path)).map((p) => p.method)
  // The router refused a path the patterns take for this very method: no such resource, not a wrong method.
  return allowed.length > 0 && !allowed.includes(request.method)
    ? errorJson(MethodNotAllowed, `${request.method} ${path}: allowed ${allowed.join(", ")}`, undefined, {
        allow: allowed.join(", ")
      })
    : errorJson(RouteNotFound, `${request.method} ${path}: no such route`)
}

const isRouteNotFound = (u: unknown) =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "RouteNotFound"

/** A body the platform could not read as JSON (the framework-decoded endpoints): its RequestError, or null. */
const undecodableBody = (u: unknown): string | null => {
  if (typeof u !== "object" || u === null || !("_tag" in u) || u._tag !== "RequestError" || !("reason" in u) || u.reason !== "Decode") return null
  const cause = "cause" in u ? u.cause : undefined
  return cause instanceof Error ? cause.message : "unreadable body"
}


/** Sent with every API answer: nothing here is meant to be framed, sniffed, cached or to send a Referer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

/** The security headers, except those the response set itself (a page's own cache-control or narrower CSP). */
const withSecurityHeaders = (response: HttpServerResponse.HttpServerResponse) => {
  const own = response.headers
  if (own["cache-control"] === undefined && own["content-security-policy"] === undefined) return HttpServerResponse.setHeaders(response, SECURITY_HEADERS)
  const headers: Record<string, string> = { ...SECURITY_HEADERS }
  for (const name of ["cache-control", "content-security-policy"]) {
    const value = own[name]
    if (value !== undefined) headers[name] = value
  }
  return HttpServerResponse.setHeaders(response, headers)
}

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
  return errorJson(RateLimited, `over the ${scope === "ip" ? "client address" : "key"} limit of ${limit.ratePerSec} requests/s (burst ${limit.burst}, ${setting}); retry after Retry-After`,
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
  errorJson(Unauthorized, message, undefined, { "www-authenticate": 'Bearer realm="flowmesh"' })

/**
 * A failure of an endpoint as the API's answer: route misses (404/405), decode errors (400 naming
 * the field), bodies that are not JSON or nested too deeply, the database or the work the request
 * waited on gone (503), a defect (logged 500), and the API's declared errors a handler failed with,
 * encoded as the framework would (status and body), so that they too get the edge's headers.
 */
const shapeFailure = <E>(
  cause: Cause.Cause<E>,
  request: HttpServerRequest.HttpServerRequest,
  patterns: ReadonlyArray<RoutePattern>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E> => {
  const failure = Cause.squash(cause)
  if (isRouteNotFound(failure)) return Effect.succeed(routeMiss(request, patterns))
  if (failure instanceof HttpApiDecodeError) return Effect.succeed(decodeErrorResponse(failure))
  const undecodable = undecodableBody(failure)
  if (undecodable !== null) return Effect.succeed(errorJson(MalformedJson, `body: is not valid JSON (${undecodable})`))
  if (failure instanceof DatabaseUnavailable) return Effect.succeed(errorJson(ServiceUnavailable, failure.message))
  if (isTooDeep(failure)) return Effect.succeed(errorJson(InvalidRequest, "body: nested too deeply to decode"))
  // Work the request waited on was interrupted (an actor whose shard moved, a node losing its
  // shard locks): the platform would answer a bare 503; answer ours, which carries Retry-After.
  if (Cause.isInterruptedOnly(cause)) {
    return Effect.succeed(errorJson(ServiceUnavailable, "the work this request waited on was interrupted (a shard moving, the node stopping); retry after Retry-After"))
  }
  const declared = declaredErrorResponse(failure)
  if (declared !== null) return Effect.succeed(declared)
  if (!Cause.isDie(cause)) return Effect.failCause(cause)
  return Effect.logError("request failed", cause).pipe(Effect.as(errorJson(InternalError, "internal error; it was logged")))
}

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
      const { server } = yield* EdgeServer
      // Every body the framework reads (sensor configs, webhooks, keys...) is bounded like ingest bodies.
      const maxBody = Option.some(ingest.maxBodyBytes)
      const patterns = routePatterns()
      const routeOf = routeIndex(patterns)
      const accessFor = (route: RoutePattern): Access =>
        route.access === "public" && route.name === "system.metrics" && !settings.metricsPublic ? "viewer" : route.access

      /** An ingest request refused at the edge counts as a malformed one, as the ingest handler counts its own. */
      const refusedIngest = (route: RoutePattern | undefined, response: HttpServerResponse.HttpServerResponse) => {
        if (route?.name.startsWith("ingest.") === true) readingsCounter.http.malformed.inc()
        return response
      }

      /**
       * 413. The rest of the body is read and dropped up to the drain bound, so that the connection
       * serves the next request; past it the connection closes after the answer instead.
       */
      const tooLarge = (route: RoutePattern | undefined, size: string, drained: boolean) =>
        refusedIngest(
          route,
          errorJson(PayloadTooLarge, `body: ${size}; the limit is ${ingest.maxBodyBytes} bytes (MAX_BODY_BYTES)`,
            undefined,
            drained ? undefined : { connection: "close" }
          )
        )

      /**
       * What a request is refused for before anything reads it, or null: a target that is not
       * percent-encoded UTF-8 or holds a raw `;` (400), a body over MAX_BODY_BYTES, declared or met
       * by the edge server reading its chunks (413).
       */
      const refuseShape = (request: HttpServerRequest.HttpServerRequest, route: RoutePattern | undefined) => {
        const target = targetProblem(request.url)
        if (target !== null) return errorJson(InvalidRequest, target)
        const declared = Number(request.headers["content-length"] ?? 0)
        if (declared > ingest.maxBodyBytes) return tooLarge(route, `${declared} bytes`, declared <= drainBound(ingest.maxBodyBytes))
        const chunked = server.oversizedBody(NodeHttpServerRequest.toIncomingMessage(request))
        if (chunked === undefined) return null
        return tooLarge(route, chunked.ended ? `${chunked.bytes} bytes` : `more than ${chunked.bytes} bytes`, chunked.ended)
      }

      /** For an endpoint that reads a body: 415 unless it says it is JSON, 400 when there is none. */
      const refuseBody = (request: HttpServerRequest.HttpServerRequest, route: RoutePattern | undefined) => {
        if (route?.body !== true) return null
        const type = request.headers["content-type"]
        const present = hasBody(request.headers)
        if (type === undefined ? present : !isJsonMediaType(type)) {
          return refusedIngest(route, errorJson(UnsupportedMediaType, `content-type: expected application/json, got ${type ?? "none"}`))
        }
        return present ? null : refusedIngest(route, errorJson(MalformedJson, "body: is empty; expected a JSON document"))
      }

      /**
       * The principal for the request, or the answer that refuses it (401, 403, 429). Public routes
       * (health, readiness, metrics) and unknown ones (the app answers 404/405) pass as anonymous.
       */
      const admit = (request: HttpServerRequest.HttpServerRequest, route: RoutePattern | undefined) =>
        Effect.gen(function* () {
          if (route === undefined) return ANONYMOUS
          const access = accessFor(route)
          if (access === "public") return ANONYMOUS
          const target = `${request.method} ${pathOf(request.url)}`
          let principal = ANONYMOUS
          if (auth.required) {
            const credential = readCredential(request.headers)
            const known = auth.cached(credential, Date.now()) ?? (yield* auth.resolve(credential))
            if (isRefusal(known)) return unauthorized(`${target}: ${known.message}`)
            const decision = authorize(access, known)
            if (decision._tag === "Forbidden") return errorJson(Forbidden, `${target}: ${decision.message}`)
            principal = known
          }
          if (!limiter.enabled) return principal
          const verdict = yield* limiter.check(Option.getOrElse(request.remoteAddress, () => "unknown"), principal)
          return verdict.allowed ? principal : tooManyRequests(verdict)
        })

      /** The endpoint's own answer, with the failures the framework would not shape (or would drop) turned into the API's. */
      const serve = (app: HttpApp.Default, request: HttpServerRequest.HttpServerRequest, principal: Principal) =>
        app.pipe(
          Effect.locally(currentPrincipal, principal),
          HttpIncomingMessage.withMaxBodySize(maxBody),
          Effect.catchAllCause((cause) => shapeFailure(cause, request, patterns))
        )

      return (app: HttpApp.Default) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const route = routeOf(request.method, pathOf(request.url))
          const admitted = refuseShape(request, route) ?? (auth.required || limiter.enabled ? yield* admit(request, route) : ANONYMOUS)
          let response = HttpServerResponse.isServerResponse(admitted)
            ? admitted
            : (refuseBody(request, route) ?? (yield* serve(app, request, admitted)))
          if (response.status === 503 && response.headers["retry-after"] === undefined) {
            response = HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds))
          }
          httpResponses.labels(`${Math.floor(response.status / 100)}xx`).inc()
          return withSecurityHeaders(response)
        }).pipe(Effect.catchTag("DatabaseUnavailable", (e) => Effect.succeed(errorJson(ServiceUnavailable, `${e.message}; credentials could not be checked`, undefined, { "retry-after": String(retryAfterSeconds) }))))
    })
  )
