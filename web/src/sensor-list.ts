/**
 * A page of GET /api/v1/sensors as the sensors list reads it; null when the answer is not that
 * shape. No browser: the contract test feeds it every answer the API's schema allows.
 */
import { isRecord } from "./records.js"

export interface SensorRow {
  readonly id: string
  readonly status: string
  readonly lastSeen: number | null
  readonly lastValue: number | null
  readonly suspectShare: number | null
}

const numOrNull = (u: unknown): u is number | null => u === null || typeof u === "number"

export interface SensorsPage {
  readonly sensors: ReadonlyArray<SensorRow>
  readonly next: string | null
}

const rowOf = (u: unknown): SensorRow | null =>
  isRecord(u) && typeof u.id === "string" && typeof u.status === "string" && numOrNull(u.lastSeen) && numOrNull(u.lastValue) && numOrNull(u.suspectShare)
    ? { id: u.id, status: u.status, lastSeen: u.lastSeen, lastValue: u.lastValue, suspectShare: u.suspectShare }
    : null

export const pageOf = (u: unknown): SensorsPage | null => {
  if (!isRecord(u) || !Array.isArray(u.sensors) || (u.next !== null && typeof u.next !== "string")) return null
  const sensors = u.sensors.map(rowOf)
  return sensors.every((s) => s !== null) ? { sensors: sensors.filter((s) => s !== null), next: u.next } : null
}

