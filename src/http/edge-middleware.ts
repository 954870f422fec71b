/**
 * What every response goes through: unknown routes answer 404 and wrong methods 405 (with Allow) as
 * JSON, framework decode errors take the API's `{ error, message, details }` shape, 503s carry
 * Retry-After, and a defect becomes a logged 500 instead of a dropped connection.
 */
import { HttpApi, HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Cause, Effect } from "effect"
import { httpResponses } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"
import { errorJson } from "./errors.js"

interface RoutePattern {
  readonly method: string
  readonly regex: RegExp
}

const toRegex = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\\?:[A-Za-z0-9_]+/g, "[^/]+")}$`)

export const routePatterns = (): ReadonlyArray<RoutePattern> => {
  const out: Array<RoutePattern> = []
  HttpApi.reflect(FlowmeshApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      out.push({ method: endpoint.method, regex: toRegex(endpoint.path) })
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

/**
 * API-level, so it runs inside HttpApi where route misses and decode errors are still errors
 * (outside, the server would already have sent its empty 404).
 */
export const edgeMiddleware = (retryAfterSeconds: number) => {
  const patterns = routePatterns()
  return HttpApiBuilder.middleware((app) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      let response = yield* app.pipe(
        Effect.catchAllCause((cause) => {
          const failure = Cause.squash(cause)
          if (isRouteNotFound(failure)) return Effect.succeed(routeMiss(request, patterns))
          if (failure instanceof HttpApiDecodeError) return Effect.succeed(decodeErrorResponse(failure))
          // Typed API errors go on to the framework, which encodes them with their status.
          if (!Cause.isDie(cause)) return Effect.failCause(cause)
          return Effect.logError("request failed", cause).pipe(Effect.as(errorJson(500, "internal", "internal error; it was logged")))
        })
      )
      if (response.status === 503 && response.headers["retry-after"] === undefined) {
        response = HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSeconds))
      }
      httpResponses.labels(`${Math.floor(response.status / 100)}xx`).inc()
      return response
    })
  )
}
