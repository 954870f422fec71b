/** Alert history is bounded: pruning deletes what is past retention (notifications a channel never took too) and keeps everything else. */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig } from "../../src/config.js"
import { AlertRepo } from "../../src/storage/alert-repo.js"
import { DatabaseLive } from "../../src/storage/database.js"
import { createTestDatabase } from "../support/databases.js"

const TestLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => createTestDatabase("alert_retention")),
      (d) => Effect.promise(() => d.drop())
    )
    const config = AppConfig.layer.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", db.url]]))))
    )
    return AlertRepo.Default.pipe(Layer.provideMerge(DatabaseLive), Layer.provideMerge(config))
  })
).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Error)))

layer(TestLive, { excludeTestServices: true, timeout: "60 seconds" })("alert retention", (it) => {
  it.effect("deletes resolved alerts, summaries, dead letters and notifications never delivered past retention; keeps recent and unresolved ones", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* AlertRepo
      const insert = (sensor: string, status: string, resolvedDaysAgo: number | null) =>
        sql`
          insert into alerts (notifier, sensor, rule, kind, severity, status, message, opened_at, last_seen, resolved_at)
          values ('s', ${sensor}, 'r', 'threshold', 'warning', ${status}, 'm', now() - interval '400 days', now() - interval '400 days',
            ${resolvedDaysAgo === null ? null : sql`now() - make_interval(days => ${resolvedDaysAgo})`})
          returning id`
      const [old] = yield* insert("s/old", "resolved", 100)
      yield* insert("s/recent", "resolved", 10)
      yield* insert("s/open", "open", null)
      yield* sql`insert into alert_events (alert_id, notifier, event, at) values (${old?.id ?? 0}, 's', 'opened', now() - interval '400 days')`
      yield* sql`insert into alert_events (notifier, event, at) values ('s', 'summary', now() - interval '100 days'), ('s', 'summary', now())`
      yield* sql`insert into webhooks (id, url, secret) values ('w', 'http://127.0.0.1:9/', 'sixteen-chars-secret')`
      yield* sql`insert into dead_letters (webhook_id, event_id, payload, attempts, failed_at) values ('w', 1, '{}', 8, now() - interval '100 days'), ('w', 2, '{}', 8, now())`

      yield* sql`insert into alert_fanout (notifier, channel, payload, created_at) values ('s', 'stream', '{"id": 1}', now() - interval '100 days'), ('s', 'stream', '{"id": 2}', now())`

      yield* repo.prune(90)

      const alerts = yield* sql<{ sensor: string }>`select sensor from alerts order by sensor`
      expect(alerts.map((a) => a.sensor)).toEqual(["s/open", "s/recent"])
      const events = yield* sql<{ event: string }>`select event from alert_events`
      expect(events.map((e) => e.event)).toEqual(["summary"])
      const dead = yield* sql<{ eventId: string }>`select event_id::text as "eventId" from dead_letters`
      expect(dead.map((d) => d.eventId)).toEqual(["2"])
      const owed = yield* sql<{ id: string }>`select payload->>'id' as id from alert_fanout`
      expect(owed.map((o) => o.id)).toEqual(["2"])
    })
  )
})
