/**
 * Alerts as the dashboard keeps them, without the browser: the API's answers and the `/ws/live`
 * `alert` notifications decoded, and the unresolved alerts kept newest first as transitions
 * arrive from both. An alert only moves forward (open → acknowledged → resolved), so of two views
 * of one alert the later state wins, whichever arrived last. No imports: the unit tests load it
 * under Node.
 */

export type AlertStatus = "open" | "acknowledged" | "resolved"

export interface Alert {
  readonly id: number
  readonly sensor: string
  readonly rule: string
  readonly kind: string
  readonly severity: string
  readonly status: AlertStatus
  readonly message: string
  readonly value: number | null
  readonly count: number
  readonly openedAt: number
  readonly lastSeen: number
  readonly acknowledgedAt: number | null
  readonly acknowledgedBy: string | null
  readonly resolvedAt: number | null
  readonly resolvedBy: string | null
}

export interface AlertEvent {
  readonly id: number
  readonly event: string
  readonly at: number
  readonly actor: string | null
}

export interface AlertPage {
  readonly alerts: ReadonlyArray<Alert>
  readonly next: string | null
}

export interface AlertHistory {
  readonly alert: Alert
  readonly events: ReadonlyArray<AlertEvent>
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)
const numOrNull = (u: unknown): number | null => (typeof u === "number" ? u : null)
const textOrNull = (u: unknown): string | null => (typeof u === "string" ? u : null)
const STATUSES: ReadonlyArray<AlertStatus> = ["open", "acknowledged", "resolved"]

export const alertOf = (u: unknown): Alert | null => {
  if (!isObject(u)) return null
  const { id, sensor, rule, status, openedAt } = u
  if (typeof id !== "number" || typeof sensor !== "string" || typeof rule !== "string" || typeof openedAt !== "number") return null
  if (!STATUSES.includes(status as AlertStatus)) return null
  return {
    id,
    sensor,
    rule,
    kind: typeof u.kind === "string" ? u.kind : "",
    severity: typeof u.severity === "string" ? u.severity : "",
    status: status as AlertStatus,
    message: typeof u.message === "string" ? u.message : "",
    value: numOrNull(u.value),
    count: typeof u.count === "number" ? u.count : 0,
    openedAt,
    lastSeen: typeof u.lastSeen === "number" ? u.lastSeen : openedAt,
    acknowledgedAt: numOrNull(u.acknowledgedAt),
    acknowledgedBy: textOrNull(u.acknowledgedBy),
    resolvedAt: numOrNull(u.resolvedAt),
    resolvedBy: textOrNull(u.resolvedBy)
  }
}

/** `GET /api/v1/alerts`: `{ alerts, next }`. */
export const alertPageOf = (u: unknown): AlertPage | null => {
  if (!isObject(u) || !Array.isArray(u.alerts)) return null
  const alerts = u.alerts.map(alertOf)
  if (alerts.some((a) => a === null)) return null
  return { alerts: alerts.filter((a) => a !== null), next: typeof u.next === "string" ? u.next : null }
}

/** `GET /api/v1/alerts/{id}`: the alert and its events, oldest first. */
export const alertHistoryOf = (u: unknown): AlertHistory | null => {
  if (!isObject(u) || !Array.isArray(u.events)) return null
  const alert = alertOf(u.alert)
  if (alert === null) return null
  const events = u.events
    .filter(isObject)
    .filter((e) => typeof e.id === "number" && typeof e.event === "string" && typeof e.at === "number")
    .map((e) => ({ id: e.id as number, event: e.event as string, at: e.at as number, actor: textOrNull(e.actor) }))
    .sort((a, b) => a.at - b.at || a.id - b.id)
  return { alert, events }
}

/** The alert of a `/ws/live` notification (`alert.opened|acknowledged|resolved`); null for a storm summary. */
export const notificationAlertOf = (notification: unknown): Alert | null =>
  isObject(notification) && typeof notification.type === "string" && notification.type.startsWith("alert.") ? alertOf(notification.alert) : null

const rank = (s: AlertStatus): number => STATUSES.indexOf(s)

/** Newest first: by opening time, then by id. */
export const newestFirst = (a: Alert, b: Alert): number => b.openedAt - a.openedAt || b.id - a.id

/**
 * Every alert known, by id: `incoming` replaces what was known of each alert unless it is an older
 * state (a list fetched before a transition, answered after its notification arrived).
 */
export const mergeAlerts = (known: ReadonlyArray<Alert>, incoming: ReadonlyArray<Alert>): Array<Alert> => {
  const byId = new Map(known.map((a) => [a.id, a]))
  for (const a of incoming) {
    const had = byId.get(a.id)
    if (had === undefined || rank(a.status) >= rank(had.status)) byId.set(a.id, a)
  }
  return [...byId.values()].sort(newestFirst)
}

/**
 * A fresh first page (`fetched`) over what was known: alerts in it are merged as above; a known alert
 * missing from it is dropped (resolved or gone meanwhile) unless it is newer than anything fetched
 * (its notification arrived after the list was read). An empty page drops everything: a race lost
 * there is repaired by the next refresh.
 */
export const reconcileAlerts = (known: ReadonlyArray<Alert>, fetched: ReadonlyArray<Alert>): Array<Alert> => {
  const newest = fetched.reduce((m, a) => Math.max(m, a.id), 0)
  const ids = new Set(fetched.map((a) => a.id))
  return mergeAlerts(
    known.filter((a) => !ids.has(a.id) && fetched.length > 0 && a.id > newest),
    mergeAlerts(known.filter((a) => ids.has(a.id)), fetched)
  )
}

/** What the inbox shows: the alerts not resolved, newest first. */
export const unresolved = (alerts: ReadonlyArray<Alert>): Array<Alert> => alerts.filter((a) => a.status !== "resolved").sort(newestFirst)

/** Who moved the alert last and when: "acknowledged by … at", "resolved by … at"; null while open. */
export const lastActor = (a: Alert): { readonly verb: string; readonly by: string; readonly at: number | null } | null => {
  if (a.status === "resolved") return { verb: a.resolvedBy === "auto" ? "Cleared" : "Resolved", by: a.resolvedBy === "auto" ? "automatically" : (a.resolvedBy ?? "unknown"), at: a.resolvedAt }
  if (a.status === "acknowledged") return { verb: "Acknowledged", by: a.acknowledgedBy ?? "unknown", at: a.acknowledgedAt }
  return null
}
