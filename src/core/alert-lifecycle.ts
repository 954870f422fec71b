/**
 * The notifier's decision for one alert event from a sensor, over what it knows of that
 * (sensor, rule): dedupe (one unresolved alert, updated while the condition persists), cooldown
 * (no re-raise for a while after resolving) and ordering (an event older than the last one applied
 * is stale: a redelivered outbox row must not reopen an alert that has since cleared).
 * Plain data, no I/O.
 */

export type AlertSignalKind = "raised" | "continues" | "cleared"

export interface AlertEntry {
  /** The unresolved alert's id, or null when none is open. */
  openId: number | null
  /** When the last alert of this (sensor, rule) resolved (epoch ms), or null. */
  resolvedAt: number | null
  cooldownMs: number
  /** Sequence (outbox id) of the last event applied. */
  lastSeq: number
}

export type LifecycleAction =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Update"; readonly alertId: number }
  | { readonly _tag: "Resolve"; readonly alertId: number }
  /** Raised again within the cooldown: not opened, not notified. */
  | { readonly _tag: "Suppress" }
  /** Stale, or a clear with nothing open. */
  | { readonly _tag: "Ignore" }

const OPEN: LifecycleAction = { _tag: "Open" }
const SUPPRESS: LifecycleAction = { _tag: "Suppress" }
const IGNORE: LifecycleAction = { _tag: "Ignore" }

export const decideAlert = (
  entry: AlertEntry | undefined,
  signal: AlertSignalKind,
  seq: number,
  now: number
): LifecycleAction => {
  if (entry !== undefined && seq <= entry.lastSeq) return IGNORE
  if (signal === "cleared") return entry?.openId != null ? { _tag: "Resolve", alertId: entry.openId } : IGNORE
  if (entry?.openId != null) return { _tag: "Update", alertId: entry.openId }
  if (entry?.resolvedAt != null && now - entry.resolvedAt < entry.cooldownMs) return SUPPRESS
  return OPEN
}

/** The entry after an action was committed. */
export const afterAction = (
  entry: AlertEntry | undefined,
  action: LifecycleAction,
  seq: number,
  now: number,
  cooldownMs: number,
  openedId: number | null
): AlertEntry => {
  const base: AlertEntry = entry ?? { openId: null, resolvedAt: null, cooldownMs, lastSeq: 0 }
  switch (action._tag) {
    case "Open":
      return { openId: openedId, resolvedAt: base.resolvedAt, cooldownMs, lastSeq: seq }
    case "Update":
      return { ...base, cooldownMs, lastSeq: seq }
    case "Resolve":
      return { openId: null, resolvedAt: now, cooldownMs, lastSeq: seq }
    case "Suppress":
      return { ...base, lastSeq: seq }
    case "Ignore":
      return base
  }
}

/** A resolved entry whose cooldown has passed says nothing any more and may be forgotten. */
export const isForgettable = (entry: AlertEntry, now: number): boolean =>
  entry.openId === null && (entry.resolvedAt === null || now - entry.resolvedAt >= entry.cooldownMs)
