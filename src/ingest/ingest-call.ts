/**
 * One request's groups on their way to the sensor actors: each group is handed to its local shard
 * host as it is; only a group sent through the cluster becomes a `SensorBatch` message item. A
 * group whose host turned out to be closing ("moved") goes back through its shard's lane.
 */
import { BatchCall } from "../actors/batch-call.js"
import type { SensorBatch } from "../actors/protocol.js"
import type { HostFailure } from "../actors/host-ports.js"
import type { InternalId } from "../domain/tenancy.js"

/** One sensor's readings of a request, in arrival order (`sensor` is the node-internal id). */
export interface IngestGroup {
  readonly sensor: InternalId
  readonly ts: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  /** When the edge received them, if not the request's time (coalesced WebSocket frames). */
  readonly receivedAt?: number
}

export class IngestCall extends BatchCall {
  /** The request stopped waiting (its deadline passed): its queued groups are dropped, not sent. */
  abandoned = false
  constructor(
    readonly groups: ReadonlyArray<IngestGroup>,
    readonly receivedAt: number,
    readonly durable: boolean,
    private readonly reroute: (call: IngestCall, slot: number) => void,
    readings: number
  ) {
    super(groups.length, readings)
  }
  receivedAtOf(slot: number): number {
    return this.groups[slot]!.receivedAt ?? this.receivedAt
  }
  batchOf(slot: number): SensorBatch {
    const g = this.groups[slot]!
    return { sensor: g.sensor, ts: g.ts, values: g.values, receivedAt: this.receivedAtOf(slot), durable: this.durable }
  }
  override readonly failed = (slot: number, failure: HostFailure): void => {
    if (failure._tag === "Moved" && !this.abandoned) this.reroute(this, slot)
    else this.resolve(slot, failure)
  }
}
