/**
 * The ShardHost entity's protocol: what callers (the ingest gateway and the edges' reads) may say
 * to the sensor actors of a shard and what they answer. Callers import this file, never the behaviour.
 */
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { InternalIdSchema } from "../domain/tenancy.js"
import { SensorConfig } from "../domain/sensor-config.js"
import { rejectReasonOf, suspectReasons } from "../core/classify.js"
import type { RejectReason, SuspectReason } from "../domain/reasons.js"

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

/** One sensor's readings in arrival order, as the ingest gateway hands them to the sensor's ShardHost. */
export const SensorBatch = Schema.Struct({
  sensor: InternalIdSchema,
  ts: Schema.Array(Schema.Number),
  values: Schema.Array(Schema.Number),
  receivedAt: Schema.Number,
  durable: Schema.Boolean
})
export type SensorBatch = typeof SensorBatch.Type

/**
 * A batch's answer: `codes[i]` answers reading i (>= 0 accepted with that quality flag set, 0 =
 * good; < 0 rejected, see `describeCode`), or why nothing of it was decided or committed.
 */
export const BatchAnswer = Schema.Union(
  Schema.Struct({ codes: Schema.Array(Schema.Int) }),
  Schema.Struct({
    failure: Schema.Literal("Busy", "Unavailable", "Moved", "NotDurableYet"),
    message: Schema.String,
    waitedMs: Schema.optionalWith(Schema.Number, { exact: true })
  })
)
export type BatchAnswer = typeof BatchAnswer.Type

/**
 * Every batch bound for the node that holds this shard, in order: the shard's own and those of
 * other shards the sender believes that node holds. Answered (after the commit of the durable ones)
 * batch by batch, index-aligned; a batch whose shard the node does not hold (with its host open) is
 * answered Moved. The reply names the node and the shards it holds: the sender's ownership hints.
 */
export const RecordBatchesReply = Schema.Struct({ answers: Schema.Array(BatchAnswer), node: Schema.String, owned: Schema.Array(Schema.Int) })
export type RecordBatchesReply = typeof RecordBatchesReply.Type

export const RecordBatches = Rpc.make("RecordBatches", {
  payload: { batches: Schema.Array(SensorBatch) },
  success: RecordBatchesReply
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

/** A sensor's live state, restored from its snapshot if it was not resident. */
export const GetState = Rpc.make("GetState", {
  payload: { sensor: Schema.String },
  success: SensorStateView,
  error: SensorUnavailable
})

/** Applies a new effective config (already stored in PostgreSQL by the caller). */
export const Configure = Rpc.make("Configure", {
  payload: { sensor: Schema.String, config: SensorConfig },
  error: SensorUnavailable
})

/** The sensor was deleted: drop everything resident; the next message starts afresh. */
export const Forget = Rpc.make("Forget", { payload: { sensor: Schema.String } })

/** Starts the host (the node-wide opener sends it for every shard this node owns). */
export const Open = Rpc.make("Open", {})

/**
 * One entity per cluster shard, keyed so that it lands on exactly that shard (see host-ids.ts): it
 * hosts every sensor actor of its shard. Callers on the owning node use the host in-process.
 */
export const ShardHostEntity = Entity.make("ShardHost", [RecordBatches, GetState, Configure, Forget, Open])

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
