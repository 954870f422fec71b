/**
 * Readings out (opt-in): every reading the writer commits is forwarded to a Redis stream
 * (FORWARD_REDIS_STREAM) and/or to MQTT topics (FORWARD_MQTT), with its stored quality. Only
 * committed readings are forwarded, so a forwarded reading is durable. The hook is the writer's
 * readings listener, called after a buffer's waiters were answered: each target's lane copies the
 * rows into its bounded queue and wakes its sender, so ingestion never waits for a target, and a
 * target that is slow or down costs dropped (and counted) readings, never a slower writer.
 *
 * A channel beside the live feed and the alert stream: it reads from storage (the writer, the Redis
 * connection) and nothing reads from it.
 */
import { Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"
import { RedisConnection } from "../storage/redis.js"
import { Writer } from "../storage/writer.js"
import { logInfo } from "../telemetry/log.js"
import { type Lane, makeLane } from "./forward-lane.js"
import { mqttTarget } from "./mqtt-target.js"
import { redisTarget } from "./redis-target.js"

export const ForwardLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { forward, mqtt } = yield* AppConfig
    const writer = yield* Writer
    const { client: redis } = yield* RedisConnection
    const lanes: Array<Lane> = []
    const where: Array<string> = []
    if (Option.isSome(forward.redisStream) && Option.isSome(redis)) {
      lanes.push(yield* makeLane(redisTarget(redis.value, forward.redisStream.value, forward.redisMaxLen, forward.sendTimeoutMs), forward))
      where.push(`Redis stream ${forward.redisStream.value}`)
    }
    if (forward.mqtt && Option.isSome(mqtt.url)) {
      lanes.push(yield* makeLane(yield* mqttTarget(mqtt.url.value, mqtt, forward), forward))
      where.push(`MQTT ${mqtt.topicPrefix}/out/<sensor>`)
    }
    if (lanes.length === 0) return
    writer.onReadingsCommitted((readings, unstored) => {
      for (const lane of lanes) lane.offer(readings, unstored)
    })
    yield* logInfo("forwarding committed readings", { to: where, queueReadings: forward.queueReadings })
    // Released after the edges and the actors: what they handed the writer is committed (bounded
    // in time) and queued before the lanes send their last batches and close.
    yield* Effect.addFinalizer(() =>
      writer.awaitCommit(writer.barrier()).pipe(
        Effect.interruptible,
        Effect.timeout(Duration.millis(forward.drainTimeoutMs)),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => writer.onReadingsCommitted(null)))
      )
    )
  })
)
