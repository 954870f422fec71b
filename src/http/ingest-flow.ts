/**
 * What an ingest request does once its body is read, shared by both ways a request reaches it (the
 * HttpApi handler and the lean ingest lane): decode, keep the readings the caller may write, hand
 * them to the ingest gateway, and build the answer: 202 with every reading that was not simply
 * good, or the precise 4xx/503. Callback-based, so the lane runs it without a fiber; the answers are
 * plain values that each path renders (the same status, headers and JSON either way).
 */
import { Either } from "effect"
import type { BatchOutcome } from "../actors/batch-call.js"
import type { AckMode, AppConfigShape } from "../config.js"
import type { IngestResult } from "../domain/reading.js"
import { internalId } from "../domain/tenancy.js"
import { failureMessage, firstFailure, type IngestFailure } from "../ingest/failures.js"
import { type IngestGateway, type IngestGroup, reachedActors } from "../ingest/gateway.js"
import { type RefusedReading, oldestKeptTs, splitTooOld } from "../ingest/too-old.js"
import { closeVerdicts, newVerdicts, noteCode, noteNotPermitted, noteTooOld } from "../ingest/verdicts.js"
import { ingestLatencyHttp, ingestLatencyMqtt, readingsCounter } from "../telemetry/metrics.js"
import { inScope, type Principal, type SensorScope } from "./auth/principal.js"
import { type Answer, errorAnswer, InvalidRequest, MalformedJson, PayloadTooLarge, refusingTooDeep, ServiceUnavailable, ValidationFailed } from "./errors.js"
import { type BodyProblem, type BodyShape, decodeReadings, parseJson, type SensorGroup } from "./ingest-body.js"

type Counters = (typeof readingsCounter)["http"]
const NO_CODES = new Int32Array(0)
const decidedCodes = (outcomes: ReadonlyArray<BatchOutcome>) => outcomes.map((o) => (o._tag === "Decided" ? o.codes : NO_CODES))

export const problemAnswer = (problem: BodyProblem): Answer => {
  switch (problem._tag) {
    case "Malformed":
      return errorAnswer(MalformedJson, problem.message, { position: problem.position })
    case "TooMany":
      return errorAnswer(PayloadTooLarge, `readings: ${problem.count} readings in one request; the limit is ${problem.limit} (MAX_READINGS_PER_REQUEST)`,
        { count: problem.count, limit: problem.limit }
      )
    case "Invalid": {
      const first = problem.issues[0]
      const message = first === undefined ? "invalid body" : `${first.path === "" ? "body" : first.path}: ${first.message}`
      return errorAnswer(ValidationFailed, message, { issues: problem.issues })
    }
  }
}

/** A body past MAX_BODY_BYTES that the platform met while reading it (no declared length said so). */
export const bodyTooLarge = (maxBodyBytes: number): Answer =>
  errorAnswer(PayloadTooLarge, `body: over the limit of ${maxBodyBytes} bytes (MAX_BODY_BYTES)`)

const NOTHING_REFUSED: ReadonlyArray<SensorGroup> = []

/** Splits the groups a device key may write from those it may not (no allocation when it may write all). */
export const partitionByScope = (groups: ReadonlyArray<SensorGroup>, scope: SensorScope) => {
  if (scope._tag === "All") return { allowed: groups, refused: NOTHING_REFUSED }
  const allowed: Array<SensorGroup> = []
  const refused: Array<SensorGroup> = []
  for (const g of groups) (inScope(scope, g.sensor) ? allowed : refused).push(g)
  return { allowed, refused }
}

/** The 202: counts every reading by outcome and names each one that was not simply good. */
export const verdictAnswer = (
  groups: ReadonlyArray<SensorGroup>,
  results: ReadonlyArray<Int32Array>,
  durable: boolean,
  refused: ReadonlyArray<SensorGroup>,
  tooOld: ReadonlyArray<RefusedReading>,
  counters: Counters
): Answer => {
  const v = newVerdicts()
  for (const group of refused) for (const index of group.index) noteNotPermitted(v, index, group.sensor)
  for (const r of tooOld) noteTooOld(v, r.index, r.sensor)
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!
    const codes = results[g]!
    for (let j = 0; j < codes.length; j++) noteCode(v, group.index[j]!, group.sensor, codes[j]!)
  }
  closeVerdicts(v, counters)
  const body: IngestResult = { accepted: v.accepted, durable: durable || v.accepted === 0, suspect: v.suspect, rejected: v.rejected }
  return { status: 202, body }
}

/** One ingest request, its body read: where it came in and who sent it. */
export interface IngestRequest {
  readonly shape: BodyShape
  /** The sensor named by the path, if the route has one. */
  readonly sensor: string | null
  readonly ack: AckMode
  readonly principal: Principal
  readonly receivedAt: number
}

export type IngestFlow = (text: string, request: IngestRequest, done: (answer: Answer) => void) => void

/**
 * `retentionDays`: raw retention (RETENTION_DAYS); older readings are answered `too_old`.
 * `transport`: whose counters and latency the requests count in (the MQTT edge answers the same way).
 */
export const makeIngestFlow = (
  ingest: AppConfigShape["ingest"],
  gateway: Pick<IngestGateway, "submitNow">,
  retentionDays: number,
  transport: "http" | "mqtt" = "http"
): IngestFlow => {
  const counters = readingsCounter[transport]
  const latency = transport === "http" ? ingestLatencyHttp : ingestLatencyMqtt
  const retryAfter = { "retry-after": String(ingest.retryAfterSeconds) }
  /** 503: every reading of the request was refused (counted as overloaded, as a WebSocket frame's are). */
  const unavailable = (failure: IngestFailure, readings: number): Answer => {
    counters.overloaded.inc(readings)
    return errorAnswer(ServiceUnavailable, failureMessage(failure), undefined, retryAfter)
  }
  return (text, { shape, sensor, ack, principal, receivedAt }, done) => {
    const decoded = refusingTooDeep<Either.Either<ReadonlyArray<SensorGroup>, BodyProblem> | null>(
      () =>
        Either.flatMap(parseJson(text), (body) =>
          decodeReadings(body, { shape, sensor, maxReadings: ingest.maxReadingsPerRequest, now: receivedAt, maxFutureSkewMs: ingest.maxFutureSkewMs })
        ),
      () => null
    )
    if (decoded === null) {
      counters.malformed.inc()
      return done(errorAnswer(InvalidRequest, "body: nested too deeply to decode"))
    }
    if (Either.isLeft(decoded)) {
      counters.malformed.inc()
      return done(problemAnswer(decoded.left))
    }
    const { allowed, refused } = partitionByScope(decoded.right, principal.scope)
    const { kept: groups, tooOld } = splitTooOld(allowed, oldestKeptTs(receivedAt, retentionDays))
    if (groups.length === 0) return done(verdictAnswer([], [], true, refused, tooOld, counters))
    const tenant = principal.tenant
    // A group already names its internal id unless its tenant prefixes it: no copy then.
    const internal = groups.map((g): IngestGroup => {
      const id = internalId(tenant, g.sensor)
      // The same string is the internal id as it stands: the group is handed on as it is.
      return id === g.sensor ? (g as unknown as IngestGroup) : { sensor: id, ts: g.ts, values: g.values }
    })
    const durable = ack === "durable"
    let readings = 0
    for (const g of groups) readings += g.ts.length
    for (const g of refused) readings += g.ts.length
    readings += tooOld.length
    gateway.submitNow(internal, receivedAt, durable, (result) => {
      let answer: Answer
      if (!reachedActors(result)) answer = unavailable(result, readings)
      else {
        const failure = firstFailure(result)
        answer = failure !== null ? unavailable(failure, readings) : verdictAnswer(groups, decidedCodes(result), durable, refused, tooOld, counters)
      }
      latency[ack].observe((Date.now() - receivedAt) / 1000)
      done(answer)
    })
  }
}
