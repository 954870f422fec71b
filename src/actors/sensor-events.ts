/**
 * Events sensor actors emit on this node, for whoever needs to react (alerts, live feeds).
 * Bounded: a slow subscriber loses the oldest events, never slows a sensor.
 */
import { Effect, PubSub } from "effect"
import type { SensorStatus } from "./core/types.js"

export interface SensorStatusChanged {
  readonly _tag: "SensorStatusChanged"
  readonly sensor: string
  readonly from: SensorStatus
  readonly to: SensorStatus
  readonly at: number
  readonly reason: string
}

export class SensorEvents extends Effect.Service<SensorEvents>()("flowmesh/SensorEvents", {
  scoped: Effect.gen(function* () {
    const hub = yield* Effect.acquireRelease(PubSub.sliding<SensorStatusChanged>(4_096), PubSub.shutdown)
    return {
      publish: (event: SensorStatusChanged) => PubSub.publish(hub, event),
      subscribe: PubSub.subscribe(hub)
    } as const
  })
}) {}
