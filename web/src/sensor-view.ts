/**
 * GET /api/v1/sensors/{id} as the sensor page reads it (its live state: status, last reading,
 * counters, transitions); null when the answer is not that shape. No browser: the contract test
 * feeds it every answer the API's schema allows.
 */
import { isRecord } from "./records.js"
import { type Transition, transitionsOf } from "./status-timeline.js"

export interface Counters {
  readonly accepted: number
  readonly suspect: number
  readonly rejected: Readonly<Record<string, number>>
}

export interface SensorView {
  readonly status: string
  readonly statusSince: number | null
  readonly statusReason: string
  readonly lastTs: number | null
  readonly lastValue: number | null
  readonly counters: Counters | null
  readonly transitions: ReadonlyArray<Transition>
}

const num = (u: unknown): number | null => (typeof u === "number" ? u : null)

const countersOf = (u: unknown): Counters | null => {
  if (!isRecord(u) || typeof u.accepted !== "number" || typeof u.suspect !== "number" || !isRecord(u.rejected)) return null
  const rejected: Record<string, number> = {}
  for (const [k, v] of Object.entries(u.rejected)) if (typeof v === "number") rejected[k] = v
  return { accepted: u.accepted, suspect: u.suspect, rejected }
}

/** A sensor the node holds no live state for (`state: null`): known, nothing decided yet. */
const NO_STATE: SensorView = { status: "unknown", statusSince: null, statusReason: "", lastTs: null, lastValue: null, counters: null, transitions: [] }

export const sensorOf = (u: unknown): SensorView | null => {
  if (!isRecord(u)) return null
  if (u.state === null) return NO_STATE
  if (!isRecord(u.state)) return null
  const s = u.state
  return {
    status: typeof s.status === "string" ? s.status : "unknown",
    statusSince: num(s.statusSince),
    statusReason: typeof s.statusReason === "string" ? s.statusReason : "",
    lastTs: num(s.lastTs),
    lastValue: num(s.lastValue),
    counters: countersOf(s.counters),
    transitions: transitionsOf(s.transitions)
  }
}

