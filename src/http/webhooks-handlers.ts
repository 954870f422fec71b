/** Webhook targets and dead letters: PostgreSQL holds them; the dispatcher sends replayed letters. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { WebhookDispatcher } from "../alerts/webhooks/dispatcher.js"
import { AppConfig } from "../config.js"
import { externalId, internalId } from "../domain/tenancy.js"
import { type DeadLetter, type Webhook, WebhookRepo } from "../storage/webhook-repo.js"
import { FlowmeshApi } from "./api.js"
import { currentTenant } from "./auth/principal.js"
import { ServiceUnavailable } from "./errors.js"
import { WebhookNotFound, type WebhookView } from "./webhooks-api.js"

const DEFAULT_PAGE = 100

const unavailable = () => new ServiceUnavailable({ message: "database unavailable; retry later" })
const notFound = (id: string) => new WebhookNotFound({ message: `webhook ${JSON.stringify(id)} does not exist` })

/** Webhook ids are per tenant: the node keeps them as `domain/tenancy.ts` says, the caller sees its own. */
const view = (w: Webhook): typeof WebhookView.Type => ({
  id: externalId(w.id),
  url: w.url,
  secretSet: true,
  sensorPrefix: w.sensorPrefix,
  rules: w.rules,
  minSeverity: w.minSeverity,
  enabled: w.enabled,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt
})

const letterView = (d: DeadLetter) => ({
  id: d.id,
  webhookId: externalId(d.webhookId),
  eventId: d.eventId,
  eventType: d.eventType,
  attempts: d.attempts,
  lastError: d.lastError,
  failedAt: d.failedAt,
  payload: d.payload
})

export const WebhooksHandlersLive = HttpApiBuilder.group(FlowmeshApi, "webhooks", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* WebhookRepo
    const dispatcher = yield* WebhookDispatcher
    const { webhooks: settings } = yield* AppConfig

    return handlers
      .handle("list", () =>
        Effect.flatMap(currentTenant, (tenant) => repo.list(tenant)).pipe(
          Effect.mapError(unavailable),
          Effect.map((rows) => ({ webhooks: rows.map(view) }))
        )
      )
      .handle("put", ({ path, payload }) =>
        Effect.flatMap(currentTenant, (tenant) =>
          repo.put(internalId(tenant, path.id), {
            url: payload.url,
            secret: payload.secret,
            sensorPrefix: payload.sensorPrefix ?? null,
            rules: payload.rules ?? null,
            minSeverity: payload.minSeverity ?? "info",
            enabled: payload.enabled ?? true
          })
        ).pipe(
          Effect.mapError(unavailable),
          Effect.map(({ webhook }) => view(webhook))
        )
      )
      .handle("delete", ({ path }) =>
        Effect.flatMap(currentTenant, (tenant) => repo.remove(internalId(tenant, path.id))).pipe(
          Effect.mapError(unavailable),
          Effect.flatMap((removed) => (removed ? Effect.void : Effect.fail(notFound(path.id))))
        )
      )
      .handle("deadLetters", ({ urlParams }) => {
        const limit = urlParams.limit ?? DEFAULT_PAGE
        return Effect.flatMap(currentTenant, (tenant) =>
          repo.listDeadLetters({
            tenant,
            webhook: urlParams.webhook === undefined ? undefined : internalId(tenant, urlParams.webhook),
            after: urlParams.after,
            limit
          })
        ).pipe(
          Effect.mapError(unavailable),
          Effect.map((rows) => ({
            deadLetters: rows.map(letterView),
            next: rows.length === limit ? (rows[rows.length - 1]?.id ?? null) : null
          }))
        )
      })
      .handle("replay", ({ path }) =>
        Effect.gen(function* () {
          const id = internalId(yield* currentTenant, path.id)
          const webhook = yield* repo.get(id).pipe(Effect.mapError(unavailable))
          if (webhook === null) return yield* Effect.fail(notFound(path.id))
          const { replayed, deliveries } = yield* repo
            .replay(id, settings.queueMax, settings.leaseMs)
            .pipe(Effect.mapError(unavailable))
          dispatcher.enqueue(deliveries)
          return { replayed }
        })
      )
  })
)
