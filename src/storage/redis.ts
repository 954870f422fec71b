/**
 * The node's Redis connection when `REDIS_URL` is set (live feeds and alert streams build on it);
 * absent otherwise. Redis is never on the durability path: readiness reports it, ingestion does not
 * wait for it.
 */
import { Effect, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { AppConfig } from "../config.js"

export class RedisConnection extends Effect.Service<RedisConnection>()("flowmesh/RedisConnection", {
  scoped: Effect.gen(function* () {
    const { redisUrl } = yield* AppConfig
    const client = yield* Option.match(redisUrl, {
      onNone: () => Effect.succeed(Option.none<Redis>()),
      onSome: (url) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const redis = new Redis(Redacted.value(url), {
              maxRetriesPerRequest: 1,
              enableOfflineQueue: false,
              connectTimeout: 2_000,
              retryStrategy: (attempt) => Math.min(attempt * 200, 2_000)
            })
            // ioredis reports connection errors as events; readiness turns them into a status.
            redis.on("error", () => {})
            return redis
          }),
          (redis) => Effect.promise(() => redis.quit().catch(() => "closed"))
        ).pipe(Effect.map(Option.some))
    })
    /** None: Redis is not configured. Some(healthy): it answered PING in time. */
    const ping: Effect.Effect<Option.Option<boolean>> = Option.match(client, {
      onNone: () => Effect.succeed(Option.none()),
      onSome: (redis) =>
        Effect.tryPromise(() => redis.ping()).pipe(
          Effect.timeout("1 second"),
          Effect.as(Option.some(true)),
          Effect.orElseSucceed(() => Option.some(false))
        )
    })
    return { client, ping } as const
  })
}) {}
