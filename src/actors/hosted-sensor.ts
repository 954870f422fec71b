/**
 * Running something on one sensor of a host open on this node, as an Effect: the host entity (for
 * cluster messages) and the ingest gateway (in-process) share it. A sensor still loading is served
 * once loaded; a host that cannot serve it answers SensorUnavailable with the reason.
 */
import { Effect } from "effect"
import { SensorUnavailable } from "./protocol.js"
import { SensorActor } from "./sensor-actor.js"
import type { ShardHost } from "./shard-host.js"
import type { HostFailure } from "./host-ports.js"

export const unavailableOf = (f: HostFailure): SensorUnavailable =>
  new SensorUnavailable({ message: f._tag === "Unavailable" ? f.message : f._tag === "Busy" ? "the writer is full" : "the sensor's shard is moving; retry" })

export const onHostedSensor = <A, T>(host: ShardHost<T>, sensor: string, f: (actor: SensorActor) => A): Effect.Effect<A, SensorUnavailable> =>
  Effect.async<A, SensorUnavailable>((resume) =>
    host.withSensor(sensor, (a) => resume(a instanceof SensorActor ? Effect.sync(() => f(a)) : Effect.fail(unavailableOf(a))))
  )
