/**
 * Turns a request body into validated readings grouped by sensor, or into the precise error a
 * client needs: malformed JSON with its position, too many readings, or every field that is wrong.
 * Pure functions over strings and values: the handler does the I/O.
 */
import { Either, ParseResult, Schema } from "effect"
import { Reading, SensorReading } from "../domain/reading.js"
import { SensorId } from "../domain/sensor-id.js"
import type { FieldIssue } from "./errors.js"
import { fastReading } from "./reading-fast-path.js"

export type BodyShape =
  /** `{ readings: Reading[] }` */
  | "batch"
  /** a reading, an array of readings, or `{ readings }` */
  | "flexible"

export type BodyProblem =
  | { readonly _tag: "Malformed"; readonly message: string; readonly position: number | null }
  | { readonly _tag: "TooMany"; readonly count: number; readonly limit: number }
  | { readonly _tag: "Invalid"; readonly issues: ReadonlyArray<FieldIssue> }

/** Readings of one sensor in arrival order, with their index in the request. */
export interface SensorGroup {
  readonly sensor: string
  readonly index: number[]
  readonly ts: number[]
  readonly values: number[]
}

const MAX_ISSUES = 20

export const parseJson = (text: string): Either.Either<unknown, BodyProblem> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const m = /position (\d+)/.exec(message)
    const position = m?.[1] !== undefined ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : null
    const where = position === null || /position \d+/.test(message) ? "" : ` at position ${position}`
    return Either.left({ _tag: "Malformed", message: `body: is not valid JSON (${message}${where})`, position })
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Finds the readings array and where its items sit, without judging the items yet. */
const locate = (body: unknown, shape: BodyShape): Either.Either<{ items: ReadonlyArray<unknown>; prefix: string }, BodyProblem> => {
  if (isRecord(body) && "readings" in body) {
    const items = body.readings
    if (Array.isArray(items)) return Either.right({ items, prefix: "readings" })
    return Either.left({ _tag: "Invalid", issues: [{ path: "readings", message: "must be an array of readings" }] })
  }
  if (shape === "flexible") {
    if (Array.isArray(body)) return Either.right({ items: body, prefix: "" })
    if (isRecord(body)) return Either.right({ items: [body], prefix: "" })
  }
  const expected = shape === "batch" ? `an object { "readings": [...] }` : "a reading, an array of readings, or { readings }"
  return Either.left({ _tag: "Invalid", issues: [{ path: "", message: `must be ${expected}` }] })
}

/** `readings[3].value`; a key that is not a plain name is quoted: `readings[3]["\u0000"]`. */
const pathOf = (prefix: string, index: number, path: ReadonlyArray<PropertyKey>): string => {
  let out = prefix === "" ? `[${index}]` : `${prefix}[${index}]`
  for (const key of path) out += typeof key === "number" ? `[${key}]` : /^[\w-]+$/.test(String(key)) ? `.${String(key)}` : `[${JSON.stringify(String(key))}]`
  return out
}

const decodeReading = Schema.decodeUnknownEither(Reading, { errors: "all", onExcessProperty: "error" })
const decodeSensorReading = Schema.decodeUnknownEither(SensorReading, { errors: "all", onExcessProperty: "error" })
const decodeSensorId = Schema.decodeUnknownEither(SensorId)

export interface DecodeOptions {
  readonly shape: BodyShape
  /** The sensor named by the URL; then items must not carry their own. */
  readonly sensor: string | null
  readonly maxReadings: number
  readonly now: number
  readonly maxFutureSkewMs: number
}

/** Validates every reading (collecting all problems) and groups the good ones by sensor. */
export const decodeReadings = (body: unknown, options: DecodeOptions): Either.Either<ReadonlyArray<SensorGroup>, BodyProblem> =>
  Either.flatMap(locate(body, options.shape), ({ items, prefix }): Either.Either<ReadonlyArray<SensorGroup>, BodyProblem> => {
    if (items.length > options.maxReadings) {
      return Either.left({ _tag: "TooMany", count: items.length, limit: options.maxReadings })
    }
    if (options.sensor !== null && Either.isLeft(decodeSensorId(options.sensor))) {
      return Either.left({
        _tag: "Invalid",
        issues: [{ path: "id", message: "sensor id in the path must be 1-128 characters of A-Z a-z 0-9 . _ : / -" }]
      })
    }
    const issues: Array<FieldIssue> = []
    const groups = new Map<string, SensorGroup>()
    const latest = options.now + options.maxFutureSkewMs
    for (let i = 0; i < items.length; i++) {
      // The common reading is checked without Schema (and without wrapping it in an Either).
      let reading: { readonly sensor?: string | undefined; readonly ts?: number | undefined; readonly value: number } | null = fastReading(items[i], options.sensor === null)
      if (reading === null) {
        const decoded = options.sensor === null ? decodeReading(items[i]) : decodeSensorReading(items[i])
        if (Either.isLeft(decoded)) {
          if (issues.length < MAX_ISSUES) {
            for (const issue of ParseResult.ArrayFormatter.formatErrorSync(decoded.left)) {
              issues.push({ path: pathOf(prefix, i, issue.path), message: issue.message })
            }
          }
          continue
        }
        reading = decoded.right
      }
      const sensor = options.sensor ?? reading.sensor ?? ""
      const ts = reading.ts ?? options.now
      if (ts > latest) {
        issues.push({
          path: pathOf(prefix, i, ["ts"]),
          message: `is ${ts - options.now} ms in the future; at most ${options.maxFutureSkewMs} ms is allowed`
        })
        continue
      }
      const group = groups.get(sensor)
      if (group === undefined) {
        // Literals of one element: a first push() would reserve 17 slots in each of the three
        // arrays, ~400 bytes per sensor of a request where most sensors send one reading.
        groups.set(sensor, { sensor, index: [i], ts: [ts], values: [reading.value] })
      } else {
        group.index.push(i)
        group.ts.push(ts)
        group.values.push(reading.value)
      }
    }
    if (issues.length > 0) return Either.left({ _tag: "Invalid", issues: issues.slice(0, MAX_ISSUES) })
    return Either.right(Array.from(groups.values()))
  })
