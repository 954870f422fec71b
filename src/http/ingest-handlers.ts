/**
 * Ingest endpoints through HttpApi: read the body within MAX_BODY_BYTES and run the shared ingest
 * flow (ingest-flow.ts). Most well-formed requests never get here: the lean ingest lane
 * (ingest-lane.ts) serves them with the same flow and answers; this path serves the rest (chunked
 * bodies, CORS, credentials not yet cached, parameterized routes) and is the OpenAPI contract.
 */
import { HttpApiBuilder, HttpIncomingMessage, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect, Either, FiberRef, Option } from "effect"
import { type AckMode, AppConfig } from "../config.js"
import { IngestGateway } from "../ingest/gateway.js"
import { httpIngestPath, readingsCounter } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"
import { currentPrincipal } from "./auth/principal.js"
import type { BodyShape } from "./ingest-body.js"
import { toServerResponse } from "./errors.js"
import { bodyTooLarge, makeIngestFlow } from "./ingest-flow.js"

export const IngestHandlersLive = HttpApiBuilder.group(FlowmeshApi, "ingest", (handlers) =>
  Effect.gen(function* () {
    const { ingest, storage } = yield* AppConfig
    const flow = makeIngestFlow(ingest, yield* IngestGateway, storage.retentionDays)

    const handle = (
      request: HttpServerRequest.HttpServerRequest,
      urlParams: { readonly ack?: AckMode | undefined },
      shape: BodyShape,
      sensor: string | null
    ) =>
      Effect.gen(function* () {
        const receivedAt = Date.now()
        httpIngestPath.api.inc()
        // The edge middleware refused a body that is not application/json (415) or is declared
        // over MAX_BODY_BYTES (413) before this handler, counting it as malformed.
        const text = yield* request.text.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(ingest.maxBodyBytes)), Effect.either)
        if (Either.isLeft(text)) {
          readingsCounter.http.malformed.inc()
          return toServerResponse(bodyTooLarge(ingest.maxBodyBytes))
        }
        const principal = yield* FiberRef.get(currentPrincipal)
        const ack = urlParams.ack ?? ingest.defaultAck
        return yield* Effect.async<HttpServerResponse.HttpServerResponse>((resume) =>
          flow(text.right, { shape, sensor, ack, principal, receivedAt }, (answer) => resume(Effect.succeed(toServerResponse(answer))))
        )
      })

    return handlers
      .handleRaw("postReadings", ({ request, urlParams }) => handle(request, urlParams, "batch", null))
      .handleRaw("postSensorReadings", ({ request, urlParams, path }) => handle(request, urlParams, "flexible", path.id))
      .handleRaw("postIngestReadings", ({ request, urlParams }) => handle(request, urlParams, "flexible", null))
      .handleRaw("postDeviceReadings", ({ request, urlParams, path }) => handle(request, urlParams, "flexible", path.id))
  })
)
