/**
 * Alerts: reads come from PostgreSQL; acknowledge and resolve go through the alert's notifier actor.
 * A caller sees its tenant's alerts only: another tenant's alert id is not found.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, FiberRef } from "effect"
import { Notifier } from "../actors/notifier-protocol.js"
import { outwardAlert } from "../domain/notification.js"
import { internalId } from "../domain/tenancy.js"
import { AlertRepo } from "../storage/alert-repo.js"
import { FlowmeshApi } from "./api.js"
import { currentPrincipal, currentTenant, describePrincipal } from "./auth/principal.js"
import { AlertConflict, AlertNotFoundError, ServiceUnavailable } from "./errors.js"

const DEFAULT_LIMIT = 100
const unavailable = () => new ServiceUnavailable({ message: "database or notifier unavailable; retry later" })
const notFound = (id: number) => new AlertNotFoundError({ message: `alert ${id} does not exist` })

export const AlertsHandlersLive = HttpApiBuilder.group(FlowmeshApi, "alerts", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* AlertRepo
    const notifiers = yield* Notifier.client

    const notifierOf = (id: number) =>
      Effect.flatMap(currentTenant, (tenant) => repo.notifierOfAlert(id, tenant)).pipe(
        Effect.mapError(unavailable),
        Effect.flatMap((n) => (n === null ? Effect.fail(notFound(id)) : Effect.succeed(n)))
      )

    /**
     * Who to record for a manual transition: the body's `by` is a label the caller chooses; with
     * authentication on, the credential that did it is recorded beside it, so the audit trail cannot
     * be written in someone else's name.
     */
    const actor = (by: string | undefined) =>
      Effect.map(FiberRef.get(currentPrincipal), (p) =>
        p.kind === "anonymous" ? (by ?? "api") : by === undefined ? describePrincipal(p) : `${by} (${describePrincipal(p)})`
      )

    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const limit = urlParams.limit ?? DEFAULT_LIMIT
          const tenant = yield* currentTenant
          const alerts = yield* repo
            .list({
              tenant,
              status: urlParams.status,
              sensor: urlParams.sensor === undefined ? undefined : internalId(tenant, urlParams.sensor),
              rule: urlParams.rule,
              from: urlParams.from,
              to: urlParams.to,
              before: urlParams.before,
              limit
            })
            .pipe(Effect.mapError(unavailable))
          const last = alerts[alerts.length - 1]
          let next: string | null = null
          if (alerts.length === limit && last !== undefined) {
            const query = new URLSearchParams()
            for (const [k, v] of Object.entries(urlParams)) if (v !== undefined && k !== "before") query.set(k, String(v))
            query.set("before", String(last.id))
            next = `/api/v1/alerts?${query.toString()}`
          }
          return { alerts: alerts.map(outwardAlert), next }
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const alert = yield* repo.find(path.id, yield* currentTenant).pipe(Effect.mapError(unavailable))
          if (alert === null) return yield* Effect.fail(notFound(path.id))
          const events = yield* repo.history(path.id).pipe(Effect.mapError(unavailable))
          return { alert: outwardAlert(alert), events }
        })
      )
      .handle("ack", ({ path, payload }) =>
        notifierOf(path.id).pipe(
          Effect.zip(actor(payload.by)),
          Effect.flatMap(([n, by]) => notifiers(n).AcknowledgeAlert({ id: path.id, by })),
          Effect.map(outwardAlert),
          Effect.catchTags({
            AlertNotFound: () => Effect.fail(notFound(path.id)),
            AlertAlreadyResolved: () => Effect.fail(new AlertConflict({ message: `alert ${path.id} is resolved; it cannot be acknowledged` })),
            NotifierUnavailable: () => Effect.fail(unavailable()),
            MailboxFull: () => Effect.fail(unavailable()),
            AlreadyProcessingMessage: () => Effect.fail(unavailable()),
            PersistenceError: () => Effect.fail(unavailable())
          }),
          Effect.catchAllDefect(() => Effect.fail(unavailable()))
        )
      )
      .handle("resolve", ({ path, payload }) =>
        notifierOf(path.id).pipe(
          Effect.zip(actor(payload.by)),
          Effect.flatMap(([n, by]) => notifiers(n).ResolveAlert({ id: path.id, by })),
          Effect.map(outwardAlert),
          Effect.catchTags({
            AlertNotFound: () => Effect.fail(notFound(path.id)),
            NotifierUnavailable: () => Effect.fail(unavailable()),
            MailboxFull: () => Effect.fail(unavailable()),
            AlreadyProcessingMessage: () => Effect.fail(unavailable()),
            PersistenceError: () => Effect.fail(unavailable())
          }),
          Effect.catchAllDefect(() => Effect.fail(unavailable()))
        )
      )
  })
)
