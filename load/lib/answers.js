// @ts-check
// Reads the node's answers (README.md "API" and "WebSocket") into plain outcomes for metrics and
// checks. Never throws: a body that is not the contract is an outcome too. No k6 or Node imports.

/** @typedef {{ [key: string]: unknown }} JsonObject */

/**
 * @typedef {object} IngestOutcome
 * @property {boolean} ok a 202 with a well-formed answer
 * @property {number} accepted readings taken (suspect ones included)
 * @property {boolean} durable
 * @property {number} suspect readings taken but flagged
 * @property {Record<string, number>} rejected rejected readings by reason (`throttled`, `out_of_order`, ...)
 * @property {number} rejectedTotal
 * @property {boolean} overloaded 429 or 503: the node asked to retry later
 * @property {string | null} error null when ok, else the node's error code (`unavailable`,
 *   `validation_failed`, ...), `http_<status>` without one, `no_response` for status 0 (k6's
 *   network errors) or `malformed_answer` for a 202 that is not the contract
 */

/**
 * @typedef {object} AckOutcome
 * @property {"ack" | "error" | "other"} kind
 * @property {number | null} seq
 * @property {number} accepted
 * @property {boolean} durable
 * @property {number} suspect
 * @property {Record<string, number>} rejected by reason
 * @property {number} rejectedTotal
 * @property {string | null} code an error frame's code
 * @property {number | null} retryAfterMs
 */

/**
 * @param {unknown} value
 * @returns {value is JsonObject}
 */
const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * @param {string | null | undefined} text
 * @returns {JsonObject | null}
 */
const parseObject = (text) => {
  if (typeof text !== "string" || text === "") return null
  /** @type {unknown} */
  let value
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  return isObject(value) ? value : null
}

/**
 * @param {ReadonlyArray<unknown>} items `{index, sensor, reason}` entries
 * @returns {Record<string, number>}
 */
const countReasons = (items) => {
  /** @type {Record<string, number>} */
  const counts = {}
  for (const item of items) {
    const reason = isObject(item) && typeof item.reason === "string" ? item.reason : "unknown"
    counts[reason] = (counts[reason] ?? 0) + 1
  }
  return counts
}

/**
 * @param {JsonObject} answer
 * @returns {{ accepted: number, durable: boolean, suspect: number, rejected: Record<string, number>, rejectedTotal: number } | null}
 */
const readDecision = (answer) => {
  const { accepted, durable, suspect, rejected } = answer
  if (typeof accepted !== "number" || !Array.isArray(rejected)) return null
  return {
    accepted,
    durable: durable === true,
    suspect: Array.isArray(suspect) ? suspect.length : 0,
    rejected: countReasons(rejected),
    rejectedTotal: rejected.length
  }
}

/**
 * The outcome of `POST /api/v1/readings`.
 * @param {number} status 0 when there was no response
 * @param {string | null | undefined} text the response body
 * @returns {IngestOutcome}
 */
export const ingestOutcome = (status, text) => {
  const answer = parseObject(text)
  const overloaded = status === 429 || status === 503
  const decision = status === 202 && answer !== null ? readDecision(answer) : null
  if (decision !== null) return { ok: true, ...decision, overloaded, error: null }
  const error =
    status === 0
      ? "no_response"
      : status === 202
        ? "malformed_answer"
        : answer !== null && typeof answer.error === "string"
          ? answer.error
          : `http_${status}`
  return { ok: false, accepted: 0, durable: false, suspect: 0, rejected: {}, rejectedTotal: 0, overloaded, error }
}

/**
 * A frame the node sent on `/ws/devices`.
 * @param {string | null | undefined} text
 * @returns {AckOutcome}
 */
export const ackOutcome = (text) => {
  const frame = parseObject(text)
  const seq = frame !== null && typeof frame.seq === "number" ? frame.seq : null
  const decision = frame !== null && frame.type === "ack" ? readDecision(frame) : null
  if (decision !== null) return { kind: "ack", seq, ...decision, code: null, retryAfterMs: null }
  const none = { seq, accepted: 0, durable: false, suspect: 0, rejected: {}, rejectedTotal: 0 }
  if (frame !== null && frame.type === "error") {
    return {
      kind: "error",
      ...none,
      code: typeof frame.code === "string" ? frame.code : "unknown",
      retryAfterMs: typeof frame.retryAfterMs === "number" ? frame.retryAfterMs : null
    }
  }
  return { kind: "other", ...none, code: null, retryAfterMs: null }
}

/**
 * For a `readings` frame of `/ws/live`, how old each reading is on arrival (nowMs - ts): the feed's
 * latency when the readings were sent with ts = send time. Empty for any other frame.
 * @param {string | null | undefined} text
 * @param {number} nowMs
 * @returns {Array<number>}
 */
export const liveLatencies = (text, nowMs) => {
  /** @type {Array<number>} */
  const latencies = []
  const frame = parseObject(text)
  if (frame === null || frame.type !== "readings" || !Array.isArray(frame.sensors)) return latencies
  for (const sensor of frame.sensors) {
    if (!isObject(sensor) || !Array.isArray(sensor.ts)) continue
    for (const ts of sensor.ts) if (typeof ts === "number") latencies.push(nowMs - ts)
  }
  return latencies
}

/**
 * Items the node dropped for a slow dashboard, from a `lagged` frame; 0 for any other frame.
 * @param {string | null | undefined} text
 * @returns {number}
 */
export const laggedCount = (text) => {
  // most frames are readings: skip parsing them a second time
  if (typeof text !== "string" || !text.includes('"lagged"')) return 0
  const frame = parseObject(text)
  return frame !== null && frame.type === "lagged" && typeof frame.dropped === "number" ? frame.dropped : 0
}

/**
 * The code of an `error` frame of `/ws/live` (`too_many_subscriptions`, ...); null for any other frame.
 * @param {string | null | undefined} text
 * @returns {string | null}
 */
export const liveErrorCode = (text) => {
  if (typeof text !== "string" || !text.includes('"error"')) return null
  const frame = parseObject(text)
  return frame !== null && frame.type === "error" ? (typeof frame.code === "string" ? frame.code : "unknown") : null
}

/**
 * The `type` of a frame (`subscribed`, `readings`, `state`, ...); null when it is not a JSON object.
 * @param {string | null | undefined} text
 * @returns {string | null}
 */
export const frameType = (text) => {
  const frame = parseObject(text)
  return frame !== null && typeof frame.type === "string" ? frame.type : null
}
