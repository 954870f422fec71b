/**
 * Ingest endpoints: read and validate the body, hand the readings (grouped by sensor) to the ingest
 * gateway, and tell the device what happened to every reading that was not simply good.
 */
import { HttpApiBuilder, HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, FiberRef, Option } from "effect"
import { describeCode } from "../actors/protocol.js"
import { type AckMode, AppConfig } from "../config.js"
import type { IngestResult } from "../domain/reading.js"
import { internalId } from "../domain/tenancy.js"
import { ingestLatencyHttp, readingsCounter } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"
import { failureMessage, firstFailure } from "../ingest/failures.js"
import { IngestGateway } from "../ingest/gateway.js"
import { currentPrincipal, inScope, type SensorScope } from "./auth/principal.js"
import { errorJson } from "./errors.js"
import { type BodyProblem, type BodyShape, decodeReadings, parseJson, type SensorGroup } from "./ingest-body.js"

const counters = readingsCounter.http

const problemResponse = (problem: BodyProblem) => {
  switch (problem._tag) {
    case "Malformed":
      return errorJson(400, "malformed_json", problem.message, { position: problem.position })
    case "TooMany":
      return errorJson(
        413,
        "payload_too_large",
        `readings: ${problem.count} readings in one request; the limit is ${problem.limit} (MAX_READINGS_PER_REQUEST)`,
        { count: problem.count, limit: problem.limit }
      )
    case "Invalid": {
      const first = problem.issues[0]
      const message = first === undefined ? "invalid body" : `${first.path === "" ? "body" : first.path}: ${first.message}`
      return errorJson(422, "validation_failed", message, { issues: problem.issues })
    }
  }
}

const NOTHING_REFUSED: ReadonlyArray<SensorGroup> = []

/** Splits the groups a device key may write from those it may not (no allocation when it may write all). */
export const partitionByScope = (groups: ReadonlyArray<SensorGroup>, scope: SensorScope) => {
  if (scope._tag === "All") return { allowed: groups, refused: NOTHING_REFUSED }
  const allowed: Array<SensorGroup> = []
  const refused: Array<SensorGroup> = []
  for (const g of groups) (inScope(scope, g.sensor) ? allowed : refused).push(g)
  return { allowed, refused }
}

export const IngestHandlersLive = HttpApiBuilder.group(FlowmeshApi, "ingest", (handlers) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { ingest } = config
    const gateway = yield* IngestGateway
    const retryAfter = { "retry-after": String(ingest.retryAfterSeconds) }

    const unavailable = (message: string, details?: unknown) =>
      errorJson(503, "unavailable", message, details, retryAfter)

    const answer = (
      groups: ReadonlyArray<SensorGroup>,
      results: ReadonlyArray<Int32Array>,
      durable: boolean,
      refused: ReadonlyArray<SensorGroup>
    ) => {
      const suspect: Array<IngestResult["suspect"][number]> = []
      const rejected: Array<IngestResult["rejected"][number]> = []
      for (const group of refused) {
        for (const index of group.index) rejected.push({ index, sensor: group.sensor, reason: "not_permitted" })
        counters.not_permitted.inc(group.index.length)
      }
      let good = 0
      for (let g = 0; g < groups.length; g++) {
        const group = groups[g]!
        const codes = results[g]!
        for (let j = 0; j < codes.length; j++) {
          const code = codes[j]!
          if (code === 0) {
            good++
            continue
          }
          const described = describeCode(code)
          if (described._tag === "Suspect") {
            suspect.push({ index: group.index[j]!, sensor: group.sensor, reasons: described.reasons })
          } else {
            rejected.push({ index: group.index[j]!, sensor: group.sensor, reason: described.reason })
            counters[described.reason].inc()
          }
        }
      }
      counters.good.inc(good)
      if (suspect.length > 0) counters.suspect.inc(suspect.length)
      suspect.sort((a, b) => a.index - b.index)
      rejected.sort((a, b) => a.index - b.index)
      const accepted = good + suspect.length
      const body: IngestResult = { accepted, durable: durable || accepted === 0, suspect, rejected }
      return HttpServerResponse.unsafeJson(body, { status: 202 })
    }

    const handle = (
      request: HttpServerRequest.HttpServerRequest,
      urlParams: { readonly ack?: AckMode | undefined },
      shape: BodyShape,
      sensor: string | null
    ) =>
      Effect.gen(function* () {
        const receivedAt = Date.now()
        const ack = urlParams.ack ?? ingest.defaultAck
        // The edge middleware refused a body that is not application/json (415) or is declared
        // over MAX_BODY_BYTES (413) before this handler, counting it as malformed.
        const text = yield* request.text.pipe(
          HttpIncomingMessage.withMaxBodySize(Option.some(ingest.maxBodyBytes)),
          Effect.either
        )
        if (Either.isLeft(text)) {
          counters.malformed.inc()
          return errorJson(413, "payload_too_large", `body: over the limit of ${ingest.maxBodyBytes} bytes (MAX_BODY_BYTES)`)
        }
        const decoded = Either.flatMap(parseJson(text.right), (body) =>
          decodeReadings(body, {
            shape,
            sensor,
            maxReadings: ingest.maxReadingsPerRequest,
            now: receivedAt,
            maxFutureSkewMs: ingest.maxFutureSkewMs
          })
        )
        if (Either.isLeft(decoded)) {
          counters.malformed.inc()
          return problemResponse(decoded.left)
        }
        const principal = yield* FiberRef.get(currentPrincipal)
        const { allowed: groups, refused } = partitionByScope(decoded.right, principal.scope)
        if (groups.length === 0) return answer([], [], true, refused)
        const tenant = principal.tenant
        const internal = groups.map((g) => ({ sensor: internalId(tenant, g.sensor), ts: g.ts, values: g.values }))
        const durable = ack === "durable"
        const outcome = yield* Effect.either(gateway.submit(internal, receivedAt, durable))
        const failure = Either.isLeft(outcome) ? outcome.left : firstFailure(outcome.right)
        let response: HttpServerResponse.HttpServerResponse
        if (failure !== null) {
          counters.overloaded.inc()
          response = unavailable(failureMessage(failure))
        } else {
          const codes = Either.getOrThrow(outcome).map((o) => (o._tag === "Decided" ? o.codes : new Int32Array(0)))
          response = answer(groups, codes, durable, refused)
        }
        ingestLatencyHttp[ack].observe((Date.now() - receivedAt) / 1000)
        return response
      })

    return handlers
      .handleRaw("postReadings", ({ request, urlParams }) => handle(request, urlParams, "batch", null))
      .handleRaw("postSensorReadings", ({ request, urlParams, path }) => handle(request, urlParams, "flexible", path.id))
      .handleRaw("postIngestReadings", ({ request, urlParams }) => handle(request, urlParams, "flexible", null))
      .handleRaw("postDeviceReadings", ({ request, urlParams, path }) => handle(request, urlParams, "flexible", path.id))
  })
)
