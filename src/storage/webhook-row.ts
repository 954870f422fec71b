/** Webhook targets, deliveries and dead letters as the API and the dispatcher see them, and their row mappings. */
import { SEVERITIES, type Severity } from "../domain/notification.js"

export interface WebhookSettings {
  readonly url: string
  readonly secret: string
  readonly sensorPrefix: string | null
  readonly rules: ReadonlyArray<string> | null
  readonly minSeverity: Severity
  readonly enabled: boolean
}

export interface Webhook extends WebhookSettings {
  readonly id: string
  readonly createdAt: number
  readonly updatedAt: number
}

/** One pending send of one notification to one webhook. */
export interface Delivery {
  readonly id: number
  readonly webhookId: string
  readonly eventId: number
  readonly eventType: string
  /** The request body: the notification as JSON text. */
  readonly payload: string
  /** Failed attempts so far. */
  readonly attempts: number
}

export interface DeadLetter {
  readonly id: number
  readonly webhookId: string
  readonly eventId: number
  readonly eventType: string
  readonly attempts: number
  readonly lastError: string | null
  readonly failedAt: number
  readonly payload: unknown
}

export interface RawWebhook {
  readonly id: string
  readonly url: string
  readonly secret: string
  readonly sensor_prefix: string | null
  readonly rules: ReadonlyArray<string> | null
  readonly min_severity: string
  readonly enabled: boolean
  readonly created_at: number
  readonly updated_at: number
}

export interface RawDelivery {
  readonly id: string
  readonly webhook_id: string
  readonly event_id: string
  readonly event_type: string
  readonly payload: string
  readonly attempts: number
}

/** A replay row: the count, and a held delivery when there is one (a left join). */
export type RawReplayed = { readonly total: string } & ({ readonly [K in keyof RawDelivery]: RawDelivery[K] | null })

export interface RawDeadLetter {
  readonly id: string
  readonly webhook_id: string
  readonly event_id: string
  readonly event_type: string
  readonly attempts: number
  readonly last_error: string | null
  readonly failed_at: number
  readonly payload: unknown
}

const severityOf = (raw: string): Severity => SEVERITIES.find((s) => s === raw) ?? "info"

export const toWebhook = (r: RawWebhook): Webhook => ({
  id: r.id,
  url: r.url,
  secret: r.secret,
  sensorPrefix: r.sensor_prefix,
  rules: r.rules,
  minSeverity: severityOf(r.min_severity),
  enabled: r.enabled,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export const toDelivery = (r: RawDelivery): Delivery => ({
  id: Number(r.id),
  webhookId: r.webhook_id,
  eventId: Number(r.event_id),
  eventType: r.event_type,
  payload: r.payload,
  attempts: r.attempts
})

export const toDeadLetter = (r: RawDeadLetter): DeadLetter => ({
  id: Number(r.id),
  webhookId: r.webhook_id,
  eventId: Number(r.event_id),
  eventType: r.event_type,
  attempts: r.attempts,
  lastError: r.last_error,
  failedAt: r.failed_at,
  payload: r.payload
})

export const heldDelivery = (r: RawReplayed): ReadonlyArray<Delivery> =>
  r.id === null || r.webhook_id === null || r.event_id === null || r.event_type === null || r.payload === null || r.attempts === null
    ? []
    : [toDelivery({ id: r.id, webhook_id: r.webhook_id, event_id: r.event_id, event_type: r.event_type, payload: r.payload, attempts: r.attempts })]

export const WEBHOOK_COLUMNS = `id, url, secret, sensor_prefix, rules, min_severity, enabled,
  (extract(epoch from created_at) * 1000)::float8 as created_at,
  (extract(epoch from updated_at) * 1000)::float8 as updated_at`

export const DELIVERY_COLUMNS = `id, webhook_id, event_id, payload->>'type' as event_type, payload::text as payload, attempts`

/** Severity names in rank order, as a PostgreSQL array literal (`array_position` gives the rank). */
