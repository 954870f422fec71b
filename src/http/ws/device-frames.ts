/**
 * Decodes one device frame, `{type:"readings", seq, readings:[...]}`, with the same reading rules
 * as the HTTP edge, or says precisely what is wrong with it (the error frame's code and message).
 */
import { refusingTooDeep } from "../errors.js"
import { Either } from "effect"
import type { FieldIssue } from "../errors.js"
import { decodeReadings, parseJson, type SensorGroup } from "../ingest-body.js"

export interface DeviceFrame {
  readonly seq: number
  readonly groups: ReadonlyArray<SensorGroup>
  readonly count: number
}

export interface FrameProblem {
  readonly seq: number | null
  readonly code: "malformed_json" | "validation_failed" | "payload_too_large" | "unknown_type"
  readonly message: string
  readonly issues?: ReadonlyArray<FieldIssue>
}

export interface FrameLimits {
  readonly maxReadings: number
  readonly maxFutureSkewMs: number
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const seqOf = (u: Record<string, unknown>): number | null =>
  typeof u.seq === "number" && Number.isSafeInteger(u.seq) && u.seq >= 0 ? u.seq : null

/** Decodes one device frame; a frame nested so deep that decoding it overflows the stack is refused, never thrown. */
export const decodeDeviceFrame = (text: string, now: number, limits: FrameLimits): Either.Either<DeviceFrame, FrameProblem> =>
  refusingTooDeep(
    () => decodeFrame(text, now, limits),
    () => Either.left({ seq: null, code: "validation_failed", message: "frame: nested too deeply to decode" })
  )

const decodeFrame = (text: string, now: number, limits: FrameLimits): Either.Either<DeviceFrame, FrameProblem> => {
  const parsed = parseJson(text)
  if (Either.isLeft(parsed)) {
    const problem = parsed.left
    return Either.left({ seq: null, code: "malformed_json", message: problem._tag === "Malformed" ? problem.message.replace("body", "frame") : "frame is not valid JSON" })
  }
  const frame = parsed.right
  if (!isRecord(frame)) return Either.left({ seq: null, code: "validation_failed", message: `frame: must be an object {"type":"readings","seq":n,"readings":[...]}` })
  const seq = seqOf(frame)
  if (frame.type !== "readings") {
    return Either.left({ seq, code: "unknown_type", message: `type: expected "readings", got ${JSON.stringify(frame.type) ?? "nothing"}` })
  }
  if (seq === null) {
    return Either.left({
      seq,
      code: "validation_failed",
      message: `seq: ${"seq" in frame ? "must be a non-negative integer" : "is missing"}; it pairs the frame with its ack`
    })
  }
  const decoded = decodeReadings(frame, { shape: "batch", sensor: null, maxReadings: limits.maxReadings, now, maxFutureSkewMs: limits.maxFutureSkewMs })
  if (Either.isLeft(decoded)) {
    const problem = decoded.left
    switch (problem._tag) {
      case "TooMany":
        return Either.left({
          seq,
          code: "payload_too_large",
          message: `readings: ${problem.count} readings in one frame; the limit is ${problem.limit} (WS_MAX_READINGS_PER_FRAME)`
        })
      case "Invalid": {
        const first = problem.issues[0]
        return Either.left({
          seq,
          code: "validation_failed",
          message: first === undefined ? "frame: invalid" : `${first.path === "" ? "frame" : first.path}: ${first.message}`,
          issues: problem.issues
        })
      }
      case "Malformed":
        return Either.left({ seq, code: "malformed_json", message: problem.message })
    }
  }
  let count = 0
  for (const g of decoded.right) count += g.ts.length
  return Either.right({ seq, groups: decoded.right, count })
}
