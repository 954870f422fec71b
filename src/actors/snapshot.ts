/**
 * A sensor's snapshot as stored in `sensor_state.snapshot`: the core's own JSON-safe snapshot,
 * decoded with a schema on the way back in (a row from an older version or edited by hand must not
 * poison the actor: it starts afresh instead, and says so).
 */
import { Either, Schema } from "effect"
import { createSensorCore, fromSnapshot, type SensorCore, toSnapshot } from "../core/sensor-core.js"
import type { CoreConfig } from "../domain/sensor-settings.js"

const Status = Schema.Literal("unknown", "online", "degraded", "fault")
const Counts = Schema.Struct({
  invalid: Schema.Number,
  out_of_order: Schema.Number,
  duplicate: Schema.Number,
  throttled: Schema.Number
})

const StoredSnapshot = Schema.Struct({
  window: Schema.Struct({
    ts: Schema.Array(Schema.Number),
    values: Schema.Array(Schema.Number),
    suspect: Schema.Array(Schema.Number),
    prev: Schema.optionalWith(Schema.Struct({ ts: Schema.Number, value: Schema.Number }), { exact: true }),
    stats: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true })
  }),
  bucket: Schema.Struct({ tokens: Schema.Number, last: Schema.Number }),
  lastAcceptedTs: Schema.NullOr(Schema.Number),
  lastValue: Schema.NullOr(Schema.Number),
  stuckRun: Schema.Number,
  consecutiveInvalid: Schema.Number,
  consecutiveAccepted: Schema.Number,
  status: Status,
  statusSince: Schema.Number,
  statusReason: Schema.String,
  counters: Schema.Struct({ accepted: Schema.Number, suspect: Schema.Number, rejected: Counts }),
  transitions: Schema.Array(
    Schema.Struct({ from: Status, to: Status, at: Schema.Number, reason: Schema.String })
  ),
  version: Schema.Number,
  /** Alert rule states (decoded by rules.ts, which falls back to fresh states for anything unreadable). */
  rules: Schema.optionalWith(Schema.Unknown, { exact: true })
})

const decode = Schema.decodeUnknownEither(Schema.mutable(StoredSnapshot))

export interface Restored {
  readonly core: SensorCore
  /** False when the stored snapshot could not be read and the sensor started afresh. */
  readonly restored: boolean
  /** The saved alert rule states, as stored. */
  readonly rules: unknown
}

export const restoreCore = (cfg: CoreConfig, stored: unknown, now: number): Restored => {
  const decoded = decode(stored)
  if (Either.isLeft(decoded)) return { core: createSensorCore(cfg, now), restored: false, rules: null }
  const s = decoded.right
  return {
    core: fromSnapshot(
      cfg,
      {
        ...s,
        window: {
          ts: [...s.window.ts],
          values: [...s.window.values],
          suspect: [...s.window.suspect],
          ...(s.window.prev === undefined ? {} : { prev: s.window.prev }),
          ...(s.window.stats === undefined ? {} : { stats: [...s.window.stats] })
        },
        bucket: { ...s.bucket },
        counters: { ...s.counters, rejected: { ...s.counters.rejected } },
        transitions: [...s.transitions]
      },
      now
    ),
    restored: true,
    rules: s.rules ?? null
  }
}

/** The core as its stored snapshot: a fresh JSON-safe object (the writer serializes it once, with its flush). */
export const serializeCore = (core: SensorCore, rules: unknown = []): { version: number; lastSeen: number; state: object } => ({
  version: core.version,
  lastSeen: core.lastAcceptedTs ?? 0,
  state: { ...toSnapshot(core), rules }
})
