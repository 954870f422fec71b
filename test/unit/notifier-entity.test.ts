/**
 * The Notifier actor in-process (Entity.makeTestClient, as @effect/cluster's own tests do), over the
 * AlertStore kept in memory: the lifecycle, exactly-once application of outbox rows, cooldown,
 * manual transitions and a store outage, without a node or PostgreSQL. The same behaviour against
 * the real database is covered by test/integration/alerts.test.ts.
 */
import { Entity, ShardingConfig } from "@effect/cluster"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { NotifierEntityLive } from "../../src/actors/notifier-entity.js"
import { Notifier, type OutboxEntry } from "../../src/actors/notifier-protocol.js"
import { AlertStream } from "../../src/alerts/alert-stream.js"
import { WebhookDispatcher } from "../../src/alerts/webhooks/dispatcher.js"
import { AppConfig, appConfig } from "../../src/config.js"
import type { SensorAlertEvent } from "../../src/domain/alert-event.js"
import { LiveFeed } from "../../src/live/live-feed.js"
import { RedisConnection } from "../../src/storage/redis.js"
import { makeMemoryAlertStore, type MemoryAlertStore } from "../support/memory-alert-store.js"

const config = Layer.effect(
  AppConfig,
  appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ALERT_COOLDOWN_MS", "60000"]]))))
)

/** Everything the notifier needs but PostgreSQL: channels in memory (no Redis: no stream), webhooks handed to the store. */
const layerWith = (store: MemoryAlertStore) =>
  NotifierEntityLive.pipe(
    Layer.provide(Layer.mergeAll(store.layer, LiveFeed.Default, AlertStream.Default, Layer.succeed(WebhookDispatcher, WebhookDispatcher.make({ enqueue: () => {} } as never)))),
    Layer.provide(RedisConnection.Default),
    Layer.provide(config)
  )

const event = (signal: SensorAlertEvent["signal"], over: Partial<SensorAlertEvent> = {}): SensorAlertEvent => ({
  sensor: "site-1/pump",
  rule: "high",
  kind: "threshold",
  severity: "critical",
  signal,
  at: Date.now(),
  receivedAt: Date.now(),
  value: 95,
  count: 1,
  message: "value 95 > high 90",
  cooldownMs: null,
  ...over
})

/** Hands the notifier outbox rows, as the relay does after the writer committed them. */
const deliver = (store: MemoryAlertStore, entries: ReadonlyArray<OutboxEntry>) =>
  Effect.gen(function* () {
    store.addOutbox(...entries.map((e) => e.seq))
    const client = yield* Entity.makeTestClient(Notifier, layerWith(store))
    const notifier = yield* client("site-1")
    yield* notifier.ApplyAlertEvents({ entries })
    return notifier
  })

const waitFor = <A>(what: string, probe: () => A | undefined) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200; i++) {
      const a = probe()
      if (a !== undefined) return a
      yield* Effect.sleep(Duration.millis(10))
    }
    return yield* Effect.dieMessage(`timed out waiting for ${what}`)
  })

const withCluster = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, ShardingConfig.layer())

describe("Notifier actor (in-process, store in memory)", () => {
  it.scopedLive("opens an alert on a raise, updates it while the condition holds and resolves it on a clear; every transition reaches the webhooks once", () =>
    withCluster(
      Effect.gen(function* () {
        const store = makeMemoryAlertStore()
        const notifier = yield* deliver(store, [{ seq: 1, event: event("raised") }])
        expect(store.alerts().map((a) => [a.status, a.count])).toEqual([["open", 1]])
        store.addOutbox(2, 3)
        yield* notifier.ApplyAlertEvents({ entries: [{ seq: 2, event: event("continues", { count: 4, value: 97 }) }, { seq: 3, event: event("cleared") }] })
        const [alert] = store.alerts()
        expect([alert?.status, alert?.count, alert?.value, alert?.resolvedBy]).toEqual(["resolved", 5, 97, "auto"])
        const types = yield* waitFor("both notifications handed to webhooks", () => (store.handedToWebhooks.length === 2 ? store.handedToWebhooks.map((n) => n.type) : undefined))
        expect(types).toEqual(["alert.opened", "alert.resolved"])
        expect(store.outbox().size).toBe(0)
      })
    )
  )

  it.scopedLive("applies an outbox row exactly once, however often it is delivered", () =>
    withCluster(
      Effect.gen(function* () {
        const store = makeMemoryAlertStore()
        const row = { seq: 7, event: event("raised") }
        const notifier = yield* deliver(store, [row])
        // Redelivered (the relay and the sweeper both sent it): the row is claimed already.
        yield* notifier.ApplyAlertEvents({ entries: [row, row] })
        expect(store.alerts()).toHaveLength(1)
        expect(store.alerts()[0]?.count).toBe(1)
      })
    )
  )

  it.scopedLive("does not re-raise within the cooldown after a resolve", () =>
    withCluster(
      Effect.gen(function* () {
        const store = makeMemoryAlertStore()
        const notifier = yield* deliver(store, [
          { seq: 1, event: event("raised") },
          { seq: 2, event: event("cleared") }
        ])
        store.addOutbox(3)
        yield* notifier.ApplyAlertEvents({ entries: [{ seq: 3, event: event("raised") }] })
        expect(store.alerts().map((a) => a.status)).toEqual(["resolved"])
      })
    )
  )

  it.scopedLive("acknowledges and resolves by hand; a resolved alert cannot be acknowledged and an unknown one is not found", () =>
    withCluster(
      Effect.gen(function* () {
        const store = makeMemoryAlertStore()
        const notifier = yield* deliver(store, [{ seq: 1, event: event("raised") }])
        const id = store.alerts()[0]!.id
        const acked = yield* notifier.AcknowledgeAlert({ id, by: "ops@example.com" })
        expect([acked.status, acked.acknowledgedBy]).toEqual(["acknowledged", "ops@example.com"])
        const resolved = yield* notifier.ResolveAlert({ id, by: "ops@example.com" })
        expect([resolved.status, resolved.resolvedBy]).toEqual(["resolved", "ops@example.com"])
        expect((yield* Effect.flip(notifier.AcknowledgeAlert({ id, by: "x" })))._tag).toBe("AlertAlreadyResolved")
        expect((yield* Effect.flip(notifier.AcknowledgeAlert({ id: 999, by: "x" })))._tag).toBe("AlertNotFound")
        // A raise right after the manual resolve is within the cooldown, as after an automatic one.
        store.addOutbox(2)
        yield* notifier.ApplyAlertEvents({ entries: [{ seq: 2, event: event("raised") }] })
        expect(store.alerts()).toHaveLength(1)
      })
    )
  )

  it.scopedLive("answers unavailable while the store is down, keeps the rows, and applies them once it is back", () =>
    withCluster(
      Effect.gen(function* () {
        const store = makeMemoryAlertStore()
        store.addOutbox(1)
        const client = yield* Entity.makeTestClient(Notifier, layerWith(store))
        const notifier = yield* client("site-1")
        store.failing = true
        const failure = yield* Effect.flip(notifier.ApplyAlertEvents({ entries: [{ seq: 1, event: event("raised") }] }))
        expect(failure._tag).toBe("NotifierUnavailable")
        expect(store.outbox().has(1)).toBe(true)
        expect(store.alerts()).toHaveLength(0)
        store.failing = false
        yield* notifier.ApplyAlertEvents({ entries: [{ seq: 1, event: event("raised") }] })
        expect(store.alerts().map((a) => a.status)).toEqual(["open"])
      })
    )
  )
})
