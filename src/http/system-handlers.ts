/** Liveness, readiness (database and cluster answer) and Prometheus metrics. */
import { Sharding } from "@effect/cluster"
import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Option } from "effect"
import { RedisConnection } from "../storage/redis.js"
import { Writer } from "../storage/writer.js"
import { registry } from "../telemetry/metrics.js"
import { FlowmeshApi } from "./api.js"

const CHECK_TIMEOUT = Duration.seconds(2)

export const SystemHandlersLive = HttpApiBuilder.group(FlowmeshApi, "system", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sharding = yield* Sharding.Sharding
    const redis = yield* RedisConnection
    const writer = yield* Writer
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
            checks: { database, cluster, redis: redisUp, writer: health.committing },
            ...(health.committing ? {} : { writer: { stalledMs: health.stalledMs, lastError: health.lastError } })
          }
          return ok ? body : yield* Effect.fail(body)
        })
      )
      .handle("metrics", () => Effect.promise(() => registry.metrics()))
  })
)
