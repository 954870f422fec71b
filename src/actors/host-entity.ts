/**
 * The ShardHost entity's behaviour: one incarnation per cluster shard, on the node that owns it.
 * It opens the shard's host in `LocalHosts` (from then on the node's gateway calls it in-process)
 * and closes it when the shard leaves: every dirty snapshot is committed before the lock goes.
 * Messages reach it only from other nodes, or from this node's gateway before the host is open.
 */
import { Entity } from "@effect/cluster"
import { Duration, Effect, Layer } from "effect"
import { AppConfig } from "../config.js"
import { externalId } from "../domain/tenancy.js"
import { BatchCall, type BatchOutcome } from "./batch-call.js"
import { LocalHosts } from "./local-hosts.js"
import { MOVED } from "./host-ports.js"
import { onHostedSensor } from "./hosted-sensor.js"
import { type BatchAnswer, ShardHostEntity, type SensorStateView } from "./protocol.js"
import type { SensorActor } from "./sensor-actor.js"
import { toStateView } from "./state-view.js"

export const answerOf = (o: BatchOutcome | null): BatchAnswer => {
  switch (o?._tag) {
    case "Decided":
      return { codes: Array.from(o.codes) }
    case "Busy":
      return { failure: "Busy", message: "the writer is full" }
    case "Unavailable":
    case "Unreachable":
      return { failure: "Unavailable", message: o.message }
    case "NotDurableYet":
      return { failure: "NotDurableYet", message: `not committed within ${o.waitedMs} ms`, waitedMs: o.waitedMs }
    default:
      return { failure: "Moved", message: "the shard left this node" }
  }
}

const behaviour = Effect.gen(function* () {
  const address = yield* Entity.CurrentAddress
  const hosts = yield* LocalHosts
  const { lookup } = hosts
  const host = hosts.open(address.shardId.id)
  yield* Effect.addFinalizer(() => hosts.close(host))

  const withSensor = <A>(sensor: string, f: (actor: SensorActor) => A) => onHostedSensor(host, sensor, f)

  return ShardHostEntity.of({
    RecordBatches: ({ payload }) =>
      Effect.suspend(() => {
        const { batches } = payload
        let readings = 0
        for (const b of batches) readings += b.ts.length
        const call = new BatchCall(batches.length, readings)
        lookup.inTurn(() => {
          for (let i = 0; i < batches.length; i++) {
            const b = batches[i]!
            // Batches of other shards ride along when the sender believes this node holds them.
            const shard = lookup.shardOf(b.sensor)
            const target = shard === host.shard ? host : lookup.hostOfShard(shard)
            if (target === undefined) call.failed(i, MOVED)
            else target.record(b.sensor, b.ts, b.values, b.receivedAt, b.durable, call, i)
          }
        })
        return call.settled.pipe(
          Effect.zipRight(call.committed),
          Effect.map(() => ({ answers: call.outcomes.map(answerOf), node: hosts.nodeId, owned: lookup.openOwned() }))
        )
      }),
    // Callers see the sensor by the id its tenant knows.
    GetState: ({ payload }) => withSensor(payload.sensor, (a): SensorStateView => toStateView(externalId(a.id), a.core)),
    Configure: ({ payload }) => withSensor(payload.sensor, (a) => host.configure(a, payload.config)),
    Forget: ({ payload }) => Effect.sync(() => host.forget(payload.sensor)),
    Open: () => Effect.void
  })
})

/** Hosts live as long as their shard stays on the node: never passivated for idleness. */
export const ShardHostEntityLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ entity }) =>
    ShardHostEntity.toLayer(behaviour, {
      maxIdleTime: Duration.infinity,
      concurrency: "unbounded",
      mailboxCapacity: entity.mailboxCapacity
    })
  )
)
