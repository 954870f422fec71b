/**
 * The Redis stream channel: every paging notification (opened, acknowledged, resolved, summary) is
 * appended to `ALERT_STREAM_KEY` (`iot:alerts`) with an approximate `MAXLEN` trim, for external
 * services to read with their own consumer groups. Entry fields: `id` (the event id, to dedupe),
 * `type`, `tenant`, `notifier`, `sensor`, `rule`, `severity`, `data` (the notification as JSON).
 * Without `REDIS_URL` the channel is off. Redis is not on the alerting path: a failed append is
 * retried a few times in the background, then counted and logged (the alert itself is in PostgreSQL).
 */
import { Duration, Effect, Option, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { RedisConnection } from "../storage/redis.js"
import { logWarning } from "../telemetry/log.js"
import { alertNotifications } from "../telemetry/metrics.js"
import type { Notification } from "./notification.js"

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
  scoped: Effect.gen(function* () {
    const { alerts } = yield* AppConfig
    const { client } = yield* RedisConnection
    const scope = yield* Effect.scope

    const append = (redis: NonNullable<Option.Option.Value<typeof client>>, batch: ReadonlyArray<Notification>) =>
      Effect.tryPromise(() => {
        const pipeline = redis.pipeline()
        for (const n of batch) pipeline.xadd(alerts.streamKey, "MAXLEN", "~", alerts.streamMaxLen, "*", ...fieldsOf(n))
        return pipeline.exec().then((results) => {
          const failed = results?.find(([error]) => error !== null)
          if (failed !== undefined) throw failed[0]
        })
      }).pipe(
        Effect.retry(Schedule.exponential(Duration.millis(200)).pipe(Schedule.intersect(Schedule.recurs(4)))),
        Effect.tap(() => Effect.sync(() => alertNotifications("stream", "sent").inc(batch.length))),
        Effect.catchAll((error) =>
          Effect.zipRight(
            Effect.sync(() => alertNotifications("stream", "failed").inc(batch.length)),
            logWarning("alert stream append failed; the alerts are in PostgreSQL", { count: batch.length, error: String(error) })
          )
        )
      )

    return {
      enabled: Option.isSome(client),
      /** Appends in the background (receivers order by `id`); never waits for Redis. */
      add: (batch: ReadonlyArray<Notification>): Effect.Effect<void> =>
        Option.isNone(client) || batch.length === 0 ? Effect.void : Effect.asVoid(Effect.forkIn(append(client.value, batch), scope))
    } as const
  })
}) {}
