/**
 * Ingest endpoints: read and validate the body, send one message per sensor (never one per
 * reading) to its actor, and tell the device what happened to every reading that was not simply good.
 */
import { HttpApiBuilder, HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, FiberRef, Option } from "effect"
import { describeCode, Sensor } from "../actors/protocol.js"
import { type AckMode, AppConfig } from "../config.js"
import type { IngestResult } from "../domain/reading.js"
import { internalId } from "../domain/tenancy.js"
import { ingestLatencyHttp, readingsCounter } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"
import { PendingMessages } from "./pending-messages.js"
import { currentPrincipal, inScope, type SensorScope } from "./auth/principal.js"
import { errorJson } from "./errors.js"
import { type BodyProblem, type BodyShape, decodeReadings, parseJson, type SensorGroup } from "./ingest-body.js"
import { logWarning } from "../telemetry/log.js"

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
    const client = yield* Sensor.client
    const pending = yield* PendingMessages
    const retryAfter = { "retry-after": String(ingest.retryAfterSeconds) }

    const unavailable = (message: string, details?: unknown) =>
      errorJson(503, "unavailable", message, details, retryAfter)

    // The caller names its tenant's sensors; the actor is the tenant's (see domain/tenancy.ts).
    const send = (tenant: string, g: SensorGroup, receivedAt: number, durable: boolean) =>
      pending.withDeadline(client(internalId(tenant, g.sensor)).RecordReadings({ ts: g.ts, values: g.values, receivedAt, durable }))

    // A request for one sensor (the common device case) needs no fan-out fiber.
    const dispatch = (tenant: string, groups: ReadonlyArray<SensorGroup>, receivedAt: number, durable: boolean) =>
      groups.length === 1
        ? Effect.map(send(tenant, groups[0]!, receivedAt, durable), (r) => [r])
        : Effect.forEach(groups, (g) => send(tenant, g, receivedAt, durable), { concurrency: "unbounded" })

    const answer = (
      groups: ReadonlyArray<SensorGroup>,
      results: ReadonlyArray<{ codes: ReadonlyArray<number>; durable: boolean }>,
      refused: ReadonlyArray<SensorGroup>
    ) => {
      const suspect: Array<IngestResult["suspect"][number]> = []
      const rejected: Array<IngestResult["rejected"][number]> = []
      for (const group of refused) {
        for (const index of group.index) rejected.push({ index, sensor: group.sensor, reason: "not_permitted" })
        counters.not_permitted.inc(group.index.length)
      }
      let good = 0
      let durable = true
      for (let g = 0; g < groups.length; g++) {
        const group = groups[g]!
        const result = results[g]!
        durable &&= result.durable
        for (let j = 0; j < result.codes.length; j++) {
          const code = result.codes[j]!
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
      const body: IngestResult = { accepted: good + suspect.length, durable, suspect, rejected }
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
        if (groups.length === 0) return answer([], [], refused)
        if (!pending.tryAcquire(groups.length)) {
          counters.overloaded.inc()
          return unavailable(
            `overloaded: ${pending.pending()} sensor messages are waiting for their actors on this node (EDGE_MAX_PENDING_MESSAGES ${pending.limit}); nothing was kept, retry after Retry-After`
          )
        }
        const response = yield* dispatch(principal.tenant, groups, receivedAt, ack === "durable").pipe(
          Effect.ensuring(Effect.sync(() => pending.release(groups.length))),
          Effect.map((results) => answer(groups, results, refused)),
          Effect.catchAll((error) => {
            counters.overloaded.inc()
            switch (error._tag) {
              case "NotDurableYet":
                return Effect.succeed(
                  unavailable(
                    `readings were accepted but not committed within ${error.waitedMs} ms; they are still queued. Retry: readings already accepted are answered as duplicate`
                  )
                )
              case "SensorBusy":
              case "MailboxFull":
                return Effect.succeed(unavailable("overloaded: the writer or a sensor's mailbox is full; nothing of the rejected batches was kept, retry after Retry-After"))
              case "EdgeTimeout":
                return Effect.succeed(
                  unavailable(
                    `a sensor did not answer within ${error.waitedMs} ms (EDGE_SEND_TIMEOUT_MS; its shard may be moving). Retry after Retry-After: readings already taken are answered as duplicate`
                  )
                )
              case "SensorUnavailable":
                return Effect.succeed(unavailable(`a sensor could not load its state: ${error.message}; retry after Retry-After`))
              case "OwnerUnreachable":
                return Effect.succeed(
                  unavailable(`a sensor's owner could not be reached (${error.message}; its node may have just left). Retry after Retry-After: readings already taken are answered as duplicate`)
                )
              default:
                return logWarning("ingest failed", { error: error._tag }).pipe(
                  Effect.as(unavailable(`${error._tag}: the sensor could not be reached; retry after Retry-After`))
                )
            }
          })
        )
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
