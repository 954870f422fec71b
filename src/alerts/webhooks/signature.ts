/**
 * How a receiver knows a webhook request came from flowmesh and was not replayed later.
 *
 * Every request carries:
 * - `X-Flowmesh-Event-Id`: the notification id (the `alert_events` row id). The same on every retry:
 *   a receiver that already processed this id drops the request (and still answers 2xx).
 * - `X-Flowmesh-Event-Type`: `alert.opened`, `alert.acknowledged`, `alert.resolved` or `alert.summary`.
 * - `X-Flowmesh-Timestamp`: when this attempt was signed, in whole seconds since the epoch.
 * - `X-Flowmesh-Signature`: `v1=<hex>`, where `<hex>` is HMAC-SHA256 keyed with the webhook's
 *   secret over the bytes `"<timestamp>.<body>"` (the timestamp header's value, a dot, the raw body).
 *   Several comma-separated `v1=` entries may appear (kept open for secret rotation); one match is enough.
 *
 * A receiver recomputes the HMAC over the raw body it received (before any JSON parsing), compares
 * in constant time, and rejects a timestamp further than its tolerance (five minutes is usual) from
 * its own clock: a captured request cannot be replayed after that window.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

export const EVENT_ID_HEADER = "X-Flowmesh-Event-Id"
export const EVENT_TYPE_HEADER = "X-Flowmesh-Event-Type"
export const TIMESTAMP_HEADER = "X-Flowmesh-Timestamp"
export const SIGNATURE_HEADER = "X-Flowmesh-Signature"

const VERSION = "v1="

const hmacHex = (secret: string, timestamp: string, body: string): string =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")

/** The headers of one delivery attempt (signed at `nowMs`). */
export const signatureHeaders = (
  secret: string,
  body: string,
  eventId: number,
  eventType: string,
  nowMs: number
): Record<string, string> => {
  const timestamp = String(Math.floor(nowMs / 1000))
  return {
    [EVENT_ID_HEADER]: String(eventId),
    [EVENT_TYPE_HEADER]: eventType,
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${VERSION}${hmacHex(secret, timestamp, body)}`
  }
}

/** Request headers as Node (`IncomingHttpHeaders`) or a plain record gives them; names in any case. */
export type ReceivedHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const header = (headers: ReceivedHeaders, name: string): string | undefined => {
  const wanted = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return typeof value === "string" ? value : value?.join(",")
  }
  return undefined
}

const HEX = /^[0-9a-f]+$/

const sameHex = (expected: string, candidate: string): boolean => {
  if (candidate.length !== expected.length || !HEX.test(candidate)) return false
  return timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(candidate, "hex"))
}

/**
 * True when the request was signed with `secret` over exactly `body`, at most `toleranceSeconds`
 * away from `nowMs`. `body` must be the raw text received.
 */
export const verifySignature = (
  secret: string,
  body: string,
  headers: ReceivedHeaders,
  toleranceSeconds: number,
  nowMs: number
): boolean => {
  const timestamp = header(headers, TIMESTAMP_HEADER)
  const signature = header(headers, SIGNATURE_HEADER)
  if (timestamp === undefined || signature === undefined || !/^\d{1,15}$/.test(timestamp)) return false
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false
  const expected = hmacHex(secret, timestamp, body)
  let matched = false
  for (const entry of signature.split(",")) {
    const trimmed = entry.trim()
    // Every entry is compared (no early exit), so timing does not tell which one matched.
    if (trimmed.startsWith(VERSION) && sameHex(expected, trimmed.slice(VERSION.length))) matched = true
  }
  return matched
}
