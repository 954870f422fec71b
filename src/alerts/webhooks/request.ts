/**
 * One webhook request: the signed POST of a delivery's body, and what came of it (an answer with
 * its status and `Retry-After`, or a failure described without the URL, which may embed a token).
 * Redirects are not followed: a signed body is never forwarded to another address.
 */
import { Effect } from "effect"
import type { Delivery } from "../../storage/webhook-repo.js"
import { signatureHeaders } from "./signature.js"

export interface Endpoint {
  readonly url: string
  readonly secret: string
}

export type Answer =
  | { readonly _tag: "Answered"; readonly status: number; readonly retryAfter: string | null }
  | { readonly _tag: "Failed"; readonly error: string }

const describeFailure = (error: unknown, timeoutMs: number): string => {
  if (error instanceof Error && error.name === "TimeoutError") return `timeout after ${timeoutMs} ms`
  const cause = error instanceof Error ? error.cause : undefined
  if (cause instanceof Error && "code" in cause && typeof cause.code === "string") return `network error: ${cause.code}`
  return `network error: ${error instanceof Error ? error.message : String(error)}`
}

export const postDelivery = (endpoint: Endpoint, d: Delivery, timeoutMs: number): Effect.Effect<Answer> =>
  Effect.tryPromise({
    try: async (signal): Promise<Answer> => {
      const response = await fetch(endpoint.url, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          ...signatureHeaders(endpoint.secret, d.payload, d.eventId, d.eventType, Date.now())
        },
        body: d.payload,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
      })
      await response.body?.cancel()
      return { _tag: "Answered", status: response.status, retryAfter: response.headers.get("retry-after") }
    },
    catch: (error): Answer => ({ _tag: "Failed", error: describeFailure(error, timeoutMs) })
  }).pipe(Effect.merge)
