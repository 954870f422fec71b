/**
 * The lean ingest lane: the node's HTTP server hands a well-formed ingest request straight to the
 * shared ingest flow, without the HttpApi router, middleware and fibers (measured: a third of the
 * node's CPU per request went there). It takes a request only when everything the edge middleware
 * would check before the body is known to pass, synchronously:
 * - `POST /api/v1/readings` or `POST /ingest/readings`, with no query or exactly `ack=durable` /
 *   `ack=accepted`;
 * - a declared `Content-Length` within MAX_BODY_BYTES and a JSON content type;
 * - no `Origin` header while CORS is configured (the CORS middleware answers those);
 * - with AUTH_MODE=required, a credential already in the authenticator's cache and allowed to
 *   ingest; and a node-local rate-limit decision that admits it.
 * Anything else goes on to the HttpApi path, which answers every refusal; the lane answers only
 * what the flow answers (202, the body's 400/413/422, 503), with the same JSON and headers.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Effect, Layer, Runtime } from "effect"
import { type AckMode, AppConfig } from "../config.js"
import { IngestGateway } from "../ingest/gateway.js"
import { logError } from "../telemetry/log.js"
import { httpIngestPath, httpResponses } from "../telemetry/metrics.js"
import { Authenticator, isRefusal } from "./auth/authenticator.js"
import { readCredential } from "./auth/credentials.js"
import { ENDPOINT_ACCESS } from "./api.js"
import { authorize } from "./auth/policy.js"
import { ANONYMOUS, type Principal } from "./auth/principal.js"
import { SECURITY_HEADERS } from "./edge-middleware.js"
import type { BodyShape } from "./ingest-body.js"
import { type Answer, errorAnswer, InternalError } from "./errors.js"
import { makeIngestFlow } from "./ingest-flow.js"
import { RateLimiter } from "./limits/rate-limiter.js"
import { isJsonMediaType } from "./request-shape.js"
import { EdgeServer } from "./ws/edge-server.js"

/** The routes the lane serves: the parameterless ingest endpoints and their body shapes. */
const ROUTES: ReadonlyMap<string, { readonly shape: BodyShape; readonly endpoint: string }> = new Map([
  ["/api/v1/readings", { shape: "batch", endpoint: "ingest.postReadings" }],
  ["/ingest/readings", { shape: "flexible", endpoint: "ingest.postIngestReadings" }]
])

/** The query the lane understands: none, or the ack mode alone. */
const ackOf = (query: string, fallback: AckMode): AckMode | null => {
  if (query === "") return fallback
  if (query === "ack=durable") return "durable"
  if (query === "ack=accepted") return "accepted"
  return null
}

/** Writes an answer as the HttpApi path would: JSON, its headers, the security headers. */
export const writeAnswer = (res: ServerResponse, a: Answer): void => {
  const json = JSON.stringify(a.body)
  res.writeHead(a.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(json),
    ...SECURITY_HEADERS,
    ...a.headers
  })
  res.end(json)
  httpResponses.labels(`${Math.floor(a.status / 100)}xx`).inc()
}

export type IngestLane = (req: IncomingMessage, res: ServerResponse) => boolean

export const IngestLaneLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { ingest, cors, storage } = yield* AppConfig
    const gateway = yield* IngestGateway
    const auth = yield* Authenticator
    const limiter = yield* RateLimiter
    const { server } = yield* EdgeServer
    const flow = makeIngestFlow(ingest, gateway, storage.retentionDays)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const corsOn = cors.origins.length > 0

    /** The caller, when the lane can admit it without a round trip; null sends the request on. */
    const admit = (req: IncomingMessage, endpoint: string): Principal | null => {
      let principal = ANONYMOUS
      if (auth.required) {
        const known = auth.cached(readCredential(req.headers), Date.now())
        if (known === undefined || isRefusal(known) || authorize(ENDPOINT_ACCESS[endpoint] ?? "superuser", known)._tag === "Forbidden") return null
        principal = known
      }
      if (limiter.enabled) {
        const verdict = limiter.checkNow(req.socket.remoteAddress ?? "unknown", principal)
        if (verdict === undefined || !verdict.allowed) return null
      }
      return principal
    }

    const lane: IngestLane = (req, res) => {
      if (req.method !== "POST") return false
      const url = req.url ?? ""
      const q = url.indexOf("?")
      const route = ROUTES.get(q === -1 ? url : url.slice(0, q))
      if (route === undefined) return false
      const ack = ackOf(q === -1 ? "" : url.slice(q + 1), ingest.defaultAck)
      const length = Number(req.headers["content-length"])
      const type = req.headers["content-type"]
      if (
        ack === null ||
        req.headers["transfer-encoding"] !== undefined ||
        !(Number.isInteger(length) && length > 0 && length <= ingest.maxBodyBytes) ||
        type === undefined ||
        !isJsonMediaType(type) ||
        (corsOn && req.headers.origin !== undefined)
      ) {
        return false
      }
      const principal = admit(req, route.endpoint)
      if (principal === null) return false
      httpIngestPath.lane.inc()
      const receivedAt = Date.now()
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.once("end", () => {
        // Nothing here may throw into the HTTP server (it would take the node down): a defect is
        // answered 500 and logged, as the HttpApi path does.
        try {
          const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")
          flow(text, { shape: route.shape, sensor: null, ack, principal, receivedAt }, (answer) => {
            if (!res.destroyed && !res.headersSent) writeAnswer(res, answer)
          })
        } catch (error) {
          runFork(logError("request failed", { path: url, error: String(error) }))
          if (!res.destroyed && !res.headersSent) writeAnswer(res, errorAnswer(InternalError, "internal error; it was logged"))
        }
      })
      return true
    }

    server.ingestLane = lane
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        server.ingestLane = null
      })
    )
  })
)
