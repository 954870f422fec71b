/** A sensor's registry row with its last snapshot, as the repositories read it. */
import type { InternalId } from "../domain/tenancy.js"

export interface SensorRow {
  readonly key: number
  /** The node's id of the sensor (as stored). */
  readonly id: InternalId
  readonly config: unknown
  readonly createdAt: number
  readonly updatedAt: number
  readonly version: number | null
  readonly snapshot: unknown
  readonly lastSeen: number | null
}

export interface RawSensorRow {
  readonly key: number
  readonly id: InternalId
  readonly config: unknown
  readonly created_at: number
  readonly updated_at: number
  readonly version: string | null
  readonly snapshot: unknown
  readonly last_seen: number | null
}

export const toRow = (r: RawSensorRow): SensorRow => ({
  key: r.key,
  id: r.id,
  config: r.config,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  version: r.version === null ? null : Number(r.version),
  snapshot: r.snapshot,
  lastSeen: r.last_seen
})

/** Select list over `sensors s left join sensor_state st`. */
export const SENSOR_COLUMNS = `s.key, s.id, s.config,
  (extract(epoch from s.created_at) * 1000)::float8 as created_at,
  (extract(epoch from s.updated_at) * 1000)::float8 as updated_at,
  st.version, st.snapshot, (extract(epoch from st.last_seen) * 1000)::float8 as last_seen`

/** A sensor as the list shows it: read from its snapshot's few scalar fields. */
export interface SensorSummaryRow {
  readonly id: InternalId
  readonly config: unknown
  /** The snapshot's status, or `offline` while an offline alert of the sensor is unresolved. */
  readonly status: string
  readonly lastSeen: number | null
  readonly lastValue: number | null
  readonly accepted: number
  readonly suspect: number
}

export interface RawSensorSummary {
  readonly id: InternalId
  readonly config: unknown
  readonly status: string
  readonly last_seen: number | null
  readonly last_value: number | null
  readonly accepted: number
  readonly suspect: number
}

export const toSummary = (r: RawSensorSummary): SensorSummaryRow => ({
  id: r.id,
  config: r.config,
  status: r.status,
  lastSeen: r.last_seen,
  lastValue: r.last_value,
  accepted: r.accepted,
  suspect: r.suspect
})
