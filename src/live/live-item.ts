/**
 * What a live feed carries: accepted readings of one sensor (one item per sensor batch, never per
 * reading), status transitions and alert notifications. Plain data, the same on one node and
 * across nodes.
 */
import { DEFAULT_TENANT, TENANT_SEPARATOR } from "../domain/tenancy.js"
import type { Notification } from "../domain/notification.js"

export interface LiveReadings {
  readonly _tag: "Readings"
  readonly sensor: string
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  /** Quality flags as stored: 0 good, > 0 suspect (bit set of reasons). */
  readonly quality: ReadonlyArray<number>
  /** When the edge received the first of these readings (epoch ms): live latency starts here. */
  readonly receivedAt: number
}

export interface LiveState {
  readonly _tag: "State"
  readonly sensor: string
  readonly from: string
  readonly to: string
  readonly at: number
  readonly reason: string
}

/**
 * An alert transition of one sensor, or on the all-alerts topic ({@link ALL_ALERTS}) any alert and
 * the storm summaries.
 */
export interface LiveAlert {
  readonly _tag: "Alert"
  readonly sensor: string
  readonly notification: Notification
}

export type LiveItem = LiveReadings | LiveState | LiveAlert

/** The topic of every alert: `*` can never be part of a sensor id or of a prefix pattern's prefix. */
export const ALL_ALERTS = "*alerts"

/** The topic of every alert of one tenant (the default tenant's is {@link ALL_ALERTS}). */
export const allAlertsOf = (tenant: string): string => (tenant === DEFAULT_TENANT ? ALL_ALERTS : `${ALL_ALERTS}${TENANT_SEPARATOR}${tenant}`)

/** How many readings an item stands for (a state change counts as one). */
export const itemSize = (item: LiveItem): number => (item._tag === "Readings" ? item.ts.length : 1)

/** A topic is one sensor, or every sensor whose id starts with a prefix (`site-7/*`). */
export type LiveTopic = { readonly _tag: "Sensor"; readonly sensor: string } | { readonly _tag: "Prefix"; readonly prefix: string }

export const topicKey = (topic: LiveTopic): string => (topic._tag === "Sensor" ? topic.sensor : `${topic.prefix}*`)
