/**
 * Authentication of WebSocket upgrades, before the handshake completes: the same credentials as
 * HTTP (headers, or `?access_token=` for browsers) and the same cache; a refusal is a plain HTTP
 * answer (401 with WWW-Authenticate, 403, or 503 when the key store cannot be reached).
 */
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import { Exit } from "effect"
import type { Effect } from "effect"
import { type WsEndpoint, wsRejected } from "../../telemetry/metrics.js"
import { type Authenticator, isRefusal, type Refusal } from "../auth/authenticator.js"
import { readCredential } from "../auth/credentials.js"
import { type Access, authorize } from "../auth/policy.js"
import { ANONYMOUS, type Principal } from "../auth/principal.js"
import { queryOf, refuseUpgrade } from "./edge-server.js"

export type AuthedUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal) => void

type Run = <A, E>(effect: Effect.Effect<A, E>, options: { readonly onExit: (exit: Exit.Exit<A, E>) => void }) => void

export const authenticatedUpgrade =
  (auth: Authenticator, run: Run, endpoint: WsEndpoint, access: Access, retryAfterSeconds: number, handler: AuthedUpgrade) =>
  (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!auth.required) {
      handler(request, socket, head, ANONYMOUS)
      return
    }
    const decide = (known: Principal | Refusal) => {
      if (socket.destroyed) return
      if (isRefusal(known)) {
        wsRejected(endpoint, "unauthorized").inc()
        refuseUpgrade(socket, 401, "unauthorized", known.message, { "www-authenticate": 'Bearer realm="flowmesh"' })
        return
      }
      const decision = authorize(access, known)
      if (decision._tag === "Forbidden") {
        wsRejected(endpoint, "forbidden").inc()
        refuseUpgrade(socket, 403, "forbidden", decision.message)
        return
      }
      handler(request, socket, head, known)
    }
    const credential = readCredential(request.headers, queryOf(request))
    const cached = auth.cached(credential, Date.now())
    if (cached !== undefined) {
      decide(cached)
      return
    }
    run(auth.resolve(credential), {
      onExit: (exit) => {
        if (Exit.isSuccess(exit)) decide(exit.value)
        else if (!socket.destroyed) {
          wsRejected(endpoint, "unavailable").inc()
          refuseUpgrade(socket, 503, "unavailable", "credentials could not be checked (database unavailable); retry later", {
            "retry-after": String(retryAfterSeconds)
          })
        }
      }
    })
  }
