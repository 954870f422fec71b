/**
 * Why readings were not taken, as every edge tells the sender (HTTP 503 body, WebSocket `unavailable`
 * frame): one wording per cause, naming the setting involved and what a retry gets.
 */
import type { BatchOutcome } from "../actors/batch-call.js"
import type { EdgeTimeout, Overloaded } from "./gateway.js"

export type IngestFailure = Exclude<BatchOutcome, { readonly _tag: "Decided" }> | Overloaded | EdgeTimeout

const RESEND = "readings already taken are answered as duplicate"

export const failureMessage = (f: IngestFailure): string => {
  switch (f._tag) {
    case "Overloaded":
      return `overloaded: ${f.pending} readings are waiting for their actors on this node (INGEST_MAX_PENDING_READINGS ${f.limit}); nothing was kept, retry after Retry-After`
    case "Busy":
      return "overloaded: the writer is full; nothing of the refused batches was kept, retry after Retry-After"
    case "NotDurableYet":
      return `readings were accepted but not committed within ${f.waitedMs} ms; they are still queued. Retry: ${RESEND}`
    case "EdgeTimeout":
      return `a sensor did not answer within ${f.waitedMs} ms (EDGE_SEND_TIMEOUT_MS; its shard may be moving). Retry after Retry-After: ${RESEND}`
    case "Unavailable":
      return `a sensor could not load its state: ${f.message}; retry after Retry-After`
    case "Unreachable":
      return `a sensor's owner could not be reached (${f.message}; its node may have just left). Retry after Retry-After: ${RESEND}`
    case "Moved":
      return `a sensor's shard was moving and did not settle in time. Retry after Retry-After: ${RESEND}`
  }
}

/** The first batch that was not decided (and committed, when durable), if any. */
export const firstFailure = (outcomes: ReadonlyArray<BatchOutcome>): IngestFailure | null => {
  for (const o of outcomes) if (o._tag !== "Decided") return o
  return null
}
