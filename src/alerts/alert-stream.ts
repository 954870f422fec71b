/**
 * The Redis stream channel: every paging notification (opened, acknowledged, resolved, summary) is
 * appended to `ALERT_STREAM_KEY` (`iot:alerts`) with an approximate `MAXLEN` trim, for external
 * services to read with their own consumer groups. Entry fields: `id` (the event id, to dedupe),
 * `type`, `tenant`, `notifier`, `sensor`, `rule`, `severity`, `data` (the notification as JSON).
 * Without `REDIS_URL` the channel is off. The caller (a notifier's fan-out) awaits the append and
 * keeps the notifications until it succeeded: a failed append is counted and fails, and the caller
 * tries again later, in the same order. An outage is logged once, and so is the recovery.
 */
import { Effect, Option, Schema } from "effect"
import { AppConfig } from "../config.js"
import { RedisConnection } from "../storage/redis.js"
import { logInfo, logWarning } from "../telemetry/log.js"
import { alertNotifications } from "../telemetry/metrics.js"
import type { Notification } from "../domain/notification.js"

/** Redis did not take the entries; none of them counts as appended. */
export class StreamAppendFailed extends Schema.TaggedError<StreamAppendFailed>()("StreamAppendFailed", {
  message: Schema.String
}) {}

const fieldsOf = (n: Notification): Array<string> => [
  "id",
  String(n.id),
  "type",
  n.type,
  "tenant",
  n.tenant,
  "notifier",
  n.notifier,
  "sensor",
  n.alert?.sensor ?? "",
  "rule",
  n.alert?.rule ?? "",
  "severity",
  n.severity,
  "data",
  JSON.stringify(n)
]

export class AlertStream extends Effect.Service<AlertStream>()("flowmesh/AlertStream", {
  effect: Effect.gen(function* () {
    const { alerts } = yield* AppConfig
    const { client } = yield* RedisConnection
    let failing = false

    const append = (redis: NonNullable<Option.Option.Value<typeof client>>, batch: ReadonlyArray<Notification>) =>
      Effect.tryPromise({
        try: () => {
          const pipeline = redis.pipeline()
          for (const n of batch) pipeline.xadd(alerts.streamKey, "MAXLEN", "~", alerts.streamMaxLen, "*", ...fieldsOf(n))
          return pipeline.exec().then((results) => {
            const failed = results?.find(([error]) => error !== null)
            if (failed !== undefined) throw failed[0]
          })
        },
        catch: (error) => new StreamAppendFailed({ message: String(error) })
      }).pipe(
        Effect.tap(() => {
          alertNotifications("stream", "sent").inc(batch.length)
          if (!failing) return Effect.void
          failing = false
          return logInfo("alert stream appends succeed again", {})
        }),
        Effect.tapError((error) => {
          alertNotifications("stream", "failed").inc(batch.length)
          if (failing) return Effect.void
          failing = true
          return logWarning("alert stream append failed; the notifications wait in PostgreSQL and are appended when Redis takes them", {
            count: batch.length,
            error: error.message
          })
        })
      )

    return {
      enabled: Option.isSome(client),
      /** Appends the batch in order; succeeds once Redis took every entry. Without Redis, nothing to do. */
      append: (batch: ReadonlyArray<Notification>): Effect.Effect<void, StreamAppendFailed> =>
        Option.isNone(client) || batch.length === 0 ? Effect.void : append(client.value, batch)
    } as const
  })
}) {}
