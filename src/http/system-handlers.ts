/** Liveness, readiness (database and cluster answer) and Prometheus metrics. */
import { Sharding } from "@effect/cluster"
import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option } from "effect"
import { AppConfig } from "../config.js"
import { MqttStatus } from "../telemetry/mqtt-status.js"
import { RedisConnection } from "../storage/redis.js"
import { Writer } from "../storage/writer.js"
import { registry } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"

const CHECK_TIMEOUT = Duration.seconds(2)

/** null: no MQTT edge; true: every broker connection is up. */
const mqttUp = (connected: number | null, wanted: number): boolean | null => (connected === null ? null : connected === wanted)

export const SystemHandlersLive = HttpApiBuilder.group(FlowmeshApi, "system", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sharding = yield* Sharding.Sharding
    const redis = yield* RedisConnection
    const writer = yield* Writer
    const mqtt = yield* MqttStatus
    const { mqtt: mqttSettings } = yield* AppConfig
    const check = <A, E>(effect: Effect.Effect<A, E>) =>
      effect.pipe(
        Effect.timeout(CHECK_TIMEOUT),
        Effect.as(true),
        Effect.orElseSucceed(() => false)
      )
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function* () {
          const [database, cluster] = yield* Effect.all(
            [check(sql`select 1`), check(Effect.filterOrFail(sharding.isShutdown, (down) => !down))],
            { concurrency: 2 }
          )
          const redisUp = Option.getOrNull(yield* redis.ping)
          // A writer that cannot commit (failing or hung past WRITER_STALL_MS) takes nothing durable.
          const health = writer.health()
          const ok = database && cluster && health.committing
          const body = {
            status: ok ? ("ready" as const) : ("not_ready" as const),
            // Like Redis, the broker is reported, not required: HTTP and WebSocket ingest go on without it.
            checks: { database, cluster, redis: redisUp, writer: health.committing, mqtt: mqttUp(mqtt.connected(), mqttSettings.connections) },
            ...(health.committing ? {} : { writer: { stalledMs: health.stalledMs, lastError: health.lastError } })
          }
          return ok ? body : yield* Effect.fail(body)
        })
      )
      .handle("metrics", () => Effect.promise(() => registry.metrics()))
  })
)
