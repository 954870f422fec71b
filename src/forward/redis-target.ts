/**
 * The Redis stream target: each batch is one pipeline of `XADD <stream> MAXLEN ~ <n> * tenant ..
 * sensor .. ts .. value .. quality ..` on the node's Redis connection (REDIS_URL), for consumer
 * groups (`XGROUP CREATE`, `XREADGROUP ... >`, `XACK`). The connection queues nothing while Redis
 * is away (no offline queue): the lane then holds the readings in its own bounded queue.
 */
import { Duration, Effect } from "effect"
import type { Redis } from "ioredis"
import type { BatchOutcome, TargetDriver } from "./forward-lane.js"
import { streamFields } from "./reading-encoding.js"

const failedAll = (n: number, error: string): BatchOutcome => ({ sent: 0, failed: n, error })

export const redisTarget = (redis: Redis, stream: string, maxLen: number, timeoutMs: number): TargetDriver => ({
  name: "redis",
  where: `Redis stream ${stream}`,
  ready: () => redis.status === "ready",
  send: (queue, max) =>
    Effect.suspend(() => {
      const pipeline = redis.pipeline()
      const n = queue.drain(max, (sensor, ts, value, quality) => {
        pipeline.xadd(stream, "MAXLEN", "~", maxLen, "*", ...streamFields(sensor, ts, value, quality))
      })
      return Effect.tryPromise({ try: () => pipeline.exec(), catch: (error) => String(error) }).pipe(
        Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout: () => `Redis did not answer within ${timeoutMs} ms` }),
        Effect.map((results): BatchOutcome => {
          if (results === null) return failedAll(n, "the pipeline was discarded")
          const errors = results.filter(([error]) => error !== null)
          return { sent: n - errors.length, failed: errors.length, error: errors.length === 0 ? null : String(errors[0]![0]) }
        }),
        Effect.catchAll((error) => Effect.succeed(failedAll(n, error)))
      )
    })
})
