/**
 * The Redis stream target: each reading becomes one entry `XADD <stream> MAXLEN ~ <n> * tenant ..
 * sensor .. ts .. value .. quality ..`, a batch of them appended by one script call on the node's
 * Redis connection (REDIS_URL), for consumer
 * groups (`XGROUP CREATE`, `XREADGROUP ... >`, `XACK`). The connection queues nothing while Redis
 * is away (no offline queue): the lane then holds the readings in its own bounded queue.
 */
import { Duration, Effect } from "effect"
import type { Redis } from "ioredis"
import type { BatchOutcome, TargetDriver } from "./forward-lane.js"
import { pushStreamValues, STREAM_FIELD_NAMES } from "./reading-encoding.js"

const failedAll = (n: number, error: string, busyMs: number): BatchOutcome => ({ sent: 0, failed: n, error, busyMs })

/**
 * One command per batch: the script appends each reading as its own entry (what consumers read),
 * so the node sends one command and reads one integer instead of one XADD and its reply per
 * reading (measured: ioredis' per-command cost was most of forwarding's share of the node).
 * ARGV[1] is MAXLEN, then the entries' values five by five.
 */
const APPEND_SCRIPT = `
local fields = {${STREAM_FIELD_NAMES.map((f) => `'${f}'`).join(", ")}}
local n = 0
for i = 2, #ARGV, ${STREAM_FIELD_NAMES.length} do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    fields[1], ARGV[i], fields[2], ARGV[i + 1], fields[3], ARGV[i + 2], fields[4], ARGV[i + 3], fields[5], ARGV[i + 4])
  n = n + 1
end
return n`

type Append = (stream: string, maxLen: number, values: ReadonlyArray<string>) => Promise<number>

export const redisTarget = (redis: Redis, stream: string, maxLen: number, timeoutMs: number): TargetDriver => {
  // ioredis sends it by its SHA (EVALSHA), loading it again if Redis restarted without it.
  redis.defineCommand("flowmeshAppendReadings", { numberOfKeys: 1, lua: APPEND_SCRIPT })
  const append = (redis as unknown as { readonly flowmeshAppendReadings: Append }).flowmeshAppendReadings.bind(redis)
  return {
    name: "redis",
    where: `Redis stream ${stream}`,
    ready: () => redis.status === "ready",
    send: (queue, max) =>
      Effect.suspend(() => {
        const startedAt = performance.now()
        const values: Array<string> = []
        const n = queue.drain(max, (sensor, ts, value, quality) => pushStreamValues(values, sensor, ts, value, quality))
        // The command is encoded and written in the call: the batch's own time on the event loop ends there.
        const appended = append(stream, maxLen, values)
        const busyMs = performance.now() - startedAt
        return Effect.tryPromise({ try: () => appended, catch: (error) => String(error) }).pipe(
          Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout: () => `Redis did not answer within ${timeoutMs} ms` }),
          // A script that failed part way may have appended some: all are counted as dropped (at most once).
          Effect.map((count): BatchOutcome => (count === n ? { sent: n, failed: 0, error: null, busyMs } : failedAll(n, `appended ${count} of ${n}`, busyMs))),
          Effect.catchAll((error) => Effect.succeed(failedAll(n, error, busyMs)))
        )
      })
  }
}
