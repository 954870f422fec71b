/**
 * What dashboards send on `/ws/live` (`{type:"subscribe"|"unsubscribe", sensors:[...], alerts?}`,
 * where an entry is a sensor id or a prefix pattern `site-7/*`, and `alerts: true` is every alert
 * of every sensor) and how what they watch is framed.
 */
import { refusingTooDeep } from "../errors.js"
import { Either } from "effect"
import { SENSOR_ID_PATTERN } from "../../domain/sensor-id.js"
import { ALL_ALERTS, type LiveItem, type LiveTopic } from "../../live/live-item.js"
import type { FieldIssue } from "../errors.js"
import { parseJson } from "../ingest-body.js"

export interface LiveCommand {
  readonly type: "subscribe" | "unsubscribe"
  readonly topics: ReadonlyArray<LiveTopic>
}

export interface LiveProblem {
  readonly code: "malformed_json" | "validation_failed" | "unknown_type" | "payload_too_large"
  readonly message: string
  readonly issues?: ReadonlyArray<FieldIssue>
}

const MAX_ISSUES = 20
const ENTRY_RULE = "must be a sensor id (1-128 characters of A-Z a-z 0-9 . _ : / -) or a prefix pattern ending in * such as site-7/*"

const topicOf = (entry: unknown): LiveTopic | null => {
  if (typeof entry !== "string") return null
  if (entry.endsWith("*")) {
    const prefix = entry.slice(0, -1)
    return SENSOR_ID_PATTERN.test(prefix) ? { _tag: "Prefix", prefix } : null
  }
  return SENSOR_ID_PATTERN.test(entry) ? { _tag: "Sensor", sensor: entry } : null
}

/** Decodes one dashboard frame; a frame nested so deep that describing it overflows the stack is refused, never thrown. */
export const decodeLiveFrame = (text: string, maxEntries: number): Either.Either<LiveCommand, LiveProblem> =>
  refusingTooDeep(
    () => decodeFrame(text, maxEntries),
    () => Either.left({ code: "validation_failed", message: "frame: nested too deeply to decode" })
  )

const decodeFrame = (text: string, maxEntries: number): Either.Either<LiveCommand, LiveProblem> => {
  const parsed = parseJson(text)
  if (Either.isLeft(parsed)) {
    const p = parsed.left
    return Either.left({ code: "malformed_json", message: p._tag === "Malformed" ? p.message.replace("body", "frame") : "frame is not valid JSON" })
  }
  const frame = parsed.right
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
    return Either.left({ code: "validation_failed", message: `frame: must be an object {"type":"subscribe","sensors":[...]}` })
  }
  const type = "type" in frame ? frame.type : undefined
  if (type !== "subscribe" && type !== "unsubscribe") {
    return Either.left({ code: "unknown_type", message: `type: expected "subscribe" or "unsubscribe", got ${JSON.stringify(type) ?? "nothing"}` })
  }
  const alerts = "alerts" in frame ? frame.alerts : undefined
  if (alerts !== undefined && typeof alerts !== "boolean") {
    return Either.left({ code: "validation_failed", message: `alerts: must be true (every alert) or false, got ${JSON.stringify(alerts)}` })
  }
  const sensors = "sensors" in frame ? frame.sensors : alerts === true ? [] : undefined
  if (!Array.isArray(sensors) || (sensors.length === 0 && alerts !== true)) {
    return Either.left({
      code: "validation_failed",
      message: "sensors: must be a non-empty array of sensor ids or prefix patterns (or send alerts: true)"
    })
  }
  if (sensors.length > maxEntries) {
    return Either.left({
      code: "payload_too_large",
      message: `sensors: ${sensors.length} entries in one frame; a connection holds at most ${maxEntries} subscriptions (LIVE_MAX_SUBSCRIPTIONS)`
    })
  }
  const topics: Array<LiveTopic> = []
  const issues: Array<FieldIssue> = []
  sensors.forEach((entry: unknown, i) => {
    const topic = topicOf(entry)
    if (topic !== null) topics.push(topic)
    else if (issues.length < MAX_ISSUES) issues.push({ path: `sensors[${i}]`, message: ENTRY_RULE })
  })
  if (issues.length > 0) return Either.left({ code: "validation_failed", message: `${issues[0]!.path}: ${ENTRY_RULE}`, issues })
  if (alerts === true) topics.push({ _tag: "Sensor", sensor: ALL_ALERTS })
  return Either.right({ type, topics })
}

export interface ReadingsFeed {
  readonly sensor: string
  readonly ts: Array<number>
  readonly values: Array<number>
  readonly quality: Array<number>
}

/**
 * Turns buffered items into frames, in order: readings of consecutive items merge per sensor into
 * one `readings` frame; a status change is its own `state` frame and an alert its own `alert`
 * frame, after the readings before them. `outward` names a sensor as the dashboard knows it.
 */
export const framesOf = (items: ReadonlyArray<LiveItem>, from: number, outward: (sensor: string) => string): Array<object> => {
  const frames: Array<object> = []
  let feeds = new Map<string, ReadingsFeed>()
  const endReadings = () => {
    if (feeds.size === 0) return
    frames.push({ type: "readings", sensors: Array.from(feeds.values()) })
    feeds = new Map()
  }
  for (let i = from; i < items.length; i++) {
    const item = items[i]!
    if (item._tag === "Alert") {
      endReadings()
      frames.push({ type: "alert", notification: item.notification })
      continue
    }
    if (item._tag === "State") {
      endReadings()
      frames.push({ type: "state", sensor: outward(item.sensor), from: item.from, to: item.to, at: item.at, reason: item.reason })
      continue
    }
    let feed = feeds.get(item.sensor)
    if (feed === undefined) {
      feed = { sensor: outward(item.sensor), ts: [], values: [], quality: [] }
      feeds.set(item.sensor, feed)
    }
    for (let j = 0; j < item.ts.length; j++) {
      feed.ts.push(item.ts[j]!)
      feed.values.push(item.values[j]!)
      feed.quality.push(item.quality[j]!)
    }
  }
  endReadings()
  return frames
}
