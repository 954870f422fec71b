/**
 * The ingest flow for messages that name their device in the topic (MQTT's
 * `<prefix>/<device>/readings`). With AUTH_MODE=none every device writes as the default tenant's
 * anonymous caller. With AUTH_MODE=required the device is a device key's id: the broker checked
 * the key (its password) and the topic (its ACL), and here the node looks the key id up as the HTTP
 * edge looks a key up (one cache probe, the database once per AUTH_CACHE_TTL_MS), so the readings
 * land in the key's tenant and only for its sensors, and a revoked key is refused within that TTL
 * whatever the broker still allows.
 */
import { Effect } from "effect"
import type { Answer } from "./errors.js"
import { errorAnswer, ServiceUnavailable, Unauthorized } from "./errors.js"
import type { Authenticator, Refusal } from "./auth/authenticator.js"
import { isRefusal } from "./auth/authenticator.js"
import { ANONYMOUS, type Principal } from "./auth/principal.js"
import type { IngestFlow } from "./ingest-flow.js"

export type TopicIngest = (text: string, device: string, durable: boolean, receivedAt: number, done: (answer: Answer) => void) => void

export const makeTopicIngest = (
  flow: IngestFlow,
  auth: Pick<Authenticator, "required" | "cachedDevice" | "resolveDevice">,
  retryAfterSeconds: number
): TopicIngest => {
  const refused = (r: Refusal): Answer => errorAnswer(Unauthorized, r.message)
  const unavailable = errorAnswer(ServiceUnavailable, "database unavailable: the device key could not be checked; retry later", undefined, {
    "retry-after": String(retryAfterSeconds)
  })
  return (text, device, durable, receivedAt, done) => {
    const take = (principal: Principal) =>
      flow(text, { shape: "flexible", sensor: null, ack: durable ? "durable" : "accepted", principal, receivedAt }, done)
    if (!auth.required) return take(ANONYMOUS)
    const known = auth.cachedDevice(device, receivedAt)
    if (known !== undefined) return isRefusal(known) ? done(refused(known)) : take(known)
    Effect.runFork(
      auth.resolveDevice(device).pipe(
        Effect.match({
          onFailure: () => done(unavailable),
          onSuccess: (p) => (isRefusal(p) ? done(refused(p)) : take(p))
        })
      )
    )
  }
}
