/**
 * The Sensor entity's protocol: what callers (the edge) may say to a sensor actor and what it
 * answers. The edge imports this file, never the behaviour in `entity.ts`.
 */
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { SensorConfig } from "../domain/sensor-config.js"
import { rejectReasonOf, suspectReasons } from "./core/classify.js"
import type { RejectReason, SuspectReason } from "./core/types.js"

/** The writer of the sensor's node is full: nothing of the batch was taken; retry later. */
export class SensorBusy extends Schema.TaggedError<SensorBusy>()("SensorBusy", {
  queuedRows: Schema.Number,
  capacityRows: Schema.Number
}) {}

/** The batch was decided and queued but not committed within the ack timeout. */
export class NotDurableYet extends Schema.TaggedError<NotDurableYet>()("NotDurableYet", {
  waitedMs: Schema.Number
}) {}

/** The sensor could not load its config or state from PostgreSQL. */
export class SensorUnavailable extends Schema.TaggedError<SensorUnavailable>()("SensorUnavailable", {
  message: Schema.String
}) {}

/**
 * One batch of readings for this sensor, in arrival order. `codes[i]` answers reading i:
 * >= 0 accepted with that quality flag set (0 = good), < 0 rejected (see `rejectReasonOf`).
 */
export const RecordReadings = Rpc.make("RecordReadings", {
  payload: {
    ts: Schema.Array(Schema.Number),
    values: Schema.Array(Schema.Number),
    receivedAt: Schema.Number,
    durable: Schema.Boolean
  },
  success: Schema.Struct({ codes: Schema.Array(Schema.Int), durable: Schema.Boolean }),
  error: Schema.Union(SensorBusy, NotDurableYet, SensorUnavailable)
})

const StatusLiteral = Schema.Literal("unknown", "online", "degraded", "fault")

export const SensorStateView = Schema.Struct({
  sensor: Schema.String,
  status: StatusLiteral,
  statusSince: Schema.NullOr(Schema.Number),
  statusReason: Schema.String,
  lastTs: Schema.NullOr(Schema.Number),
  lastValue: Schema.NullOr(Schema.Number),
  counters: Schema.Struct({
    accepted: Schema.Number,
    suspect: Schema.Number,
    rejected: Schema.Struct({
      invalid: Schema.Number,
      out_of_order: Schema.Number,
      duplicate: Schema.Number,
      throttled: Schema.Number
    })
  }),
  window: Schema.Struct({
    count: Schema.Number,
    mean: Schema.NullOr(Schema.Number),
    stddev: Schema.NullOr(Schema.Number),
    min: Schema.NullOr(Schema.Number),
    max: Schema.NullOr(Schema.Number),
    ratePerSecond: Schema.Number,
    suspectShare: Schema.Number
  }),
  transitions: Schema.Array(
    Schema.Struct({ from: StatusLiteral, to: StatusLiteral, at: Schema.Number, reason: Schema.String })
  ),
  version: Schema.Number
}).annotations({ identifier: "SensorState" })
export type SensorStateView = typeof SensorStateView.Type

/** The sensor's live state, restored from its snapshot if it was not resident. */
export const GetState = Rpc.make("GetState", {
  success: SensorStateView,
  error: SensorUnavailable
})

/** Applies a new effective config (already stored in PostgreSQL by the caller). */
export const Configure = Rpc.make("Configure", {
  payload: { config: SensorConfig },
  error: SensorUnavailable
})

/** The sensor was deleted: drop everything resident; the next message starts afresh. */
export const Forget = Rpc.make("Forget", {})

export const Sensor = Entity.make("Sensor", [RecordReadings, GetState, Configure, Forget])

/**
 * The code of an accepted reading that PostgreSQL then refused for its data (the writer isolated
 * it and stored the rest): the sensor decided it, but it is not stored. Answered only with durable acks.
 */
export const UNSTORABLE_CODE = -100

export type DescribedCode =
  | { readonly _tag: "Suspect"; readonly reasons: ReadonlyArray<SuspectReason> }
  | { readonly _tag: "Rejected"; readonly reason: RejectReason | "unstorable" }

/** Reads one per-reading code of `RecordReadings` (also the stored quality of a reading). */
export const describeCode = (code: number): DescribedCode =>
  code >= 0
    ? { _tag: "Suspect", reasons: suspectReasons(code) }
    : { _tag: "Rejected", reason: code === UNSTORABLE_CODE ? "unstorable" : (rejectReasonOf(code) ?? "invalid") }
