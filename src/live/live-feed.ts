/**
 * The node's live feed. Sensor actors publish what they accepted (one item per batch) and their
 * status changes; dashboards subscribe per sensor or per id prefix. Items for local watchers are
 * delivered in-process at once; with `REDIS_URL` they also go to the other nodes through
 * {@link RedisLiveBridge}. Publishing is synchronous and costs nothing for a sensor nobody watches,
 * here or on another node.
 */
import { internalId } from "../domain/tenancy.js"
import { Effect, Option } from "effect"
import type { Notification } from "../domain/notification.js"
import { AppConfig } from "../config.js"
import { RedisConnection } from "../storage/redis.js"
import { logInfo, logWarning } from "../telemetry/log.js"
import { liveSubscriptions } from "../telemetry/metrics.js"
import { LiveHub, type LiveSink } from "./live-hub.js"
import { allAlertsOf, type LiveItem, type LiveState, type LiveTopic } from "./live-item.js"
import { RedisLiveBridge } from "./redis-live-bridge.js"

export type HealthListener = (healthy: boolean) => void

export class LiveFeed extends Effect.Service<LiveFeed>()("flowmesh/LiveFeed", {
  scoped: Effect.gen(function* () {
    const { live } = yield* AppConfig
    const redis = yield* RedisConnection
    const listeners = new Set<HealthListener>()
    const runtime = yield* Effect.runtime<never>()

    let bridge: RedisLiveBridge | null = null
    const hub = new LiveHub((topic, open) => {
      liveSubscriptions.inc(open ? 1 : -1)
      bridge?.topicChanged(topic, open)
    })

    if (Option.isSome(redis.client)) {
      const publisher = redis.client.value
      const subscriber = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const s = publisher.duplicate({ autoResubscribe: false, enableOfflineQueue: false })
          s.on("error", () => {})
          return s
        }),
        (s) => Effect.sync(() => s.disconnect())
      )
      const made = new RedisLiveBridge(publisher, subscriber, hub, {
        publishTickMs: live.publishTickMs,
        maxPendingReadings: live.bufferReadings * 10,
        interestRefreshMs: live.interestRefreshMs,
        onHealth: (healthy) => {
          const log = healthy
            ? logInfo("live feed across nodes is up (Redis)", {})
            : logWarning("live feed across nodes is degraded: Redis is unreachable; local feeds continue", {})
          Effect.runFork(Effect.provide(log, runtime))
          for (const listener of listeners) listener(healthy)
        }
      })
      bridge = made
      yield* Effect.addFinalizer(() => Effect.promise(() => made.close()))
    }

    const publish = (item: LiveItem) => {
      if (hub.watched(item.sensor)) hub.deliver(item)
      bridge?.publish(item)
    }

    return {
      /** Accepted readings of one batch (`codes[i] >= 0`); rejected ones never reach a dashboard. */
      publishReadings: (
        sensor: string,
        ts: ReadonlyArray<number>,
        values: ReadonlyArray<number>,
        codes: ArrayLike<number>,
        receivedAt: number
      ): void => {
        if (!hub.watched(sensor) && bridge?.wanted(sensor) !== true) return
        let all = true
        for (let i = 0; i < codes.length; i++) if (codes[i]! < 0) all = false
        if (all) {
          publish({ _tag: "Readings", sensor, ts, values, quality: Array.from(codes), receivedAt })
          return
        }
        const kept: { ts: Array<number>; values: Array<number>; quality: Array<number> } = { ts: [], values: [], quality: [] }
        for (let i = 0; i < codes.length; i++) {
          const code = codes[i]!
          if (code < 0) continue
          kept.ts.push(ts[i]!)
          kept.values.push(values[i]!)
          kept.quality.push(code)
        }
        if (kept.ts.length > 0) publish({ _tag: "Readings", sensor, ...kept, receivedAt })
      },
      publishState: (state: Omit<LiveState, "_tag">): void => publish({ _tag: "State", ...state }),
      /** An alert transition, to the watchers of its sensor and of every alert (a summary only to the latter). */
      publishAlert: (notification: Notification): void => {
        const { tenant, alert } = notification
        if (alert !== null) publish({ _tag: "Alert", sensor: internalId(tenant, alert.sensor), notification })
        publish({ _tag: "Alert", sensor: allAlertsOf(tenant), notification })
      },
      subscribe: (topic: LiveTopic, sink: LiveSink): void => hub.subscribe(topic, sink),
      unsubscribe: (topic: LiveTopic, sink: LiveSink): void => hub.unsubscribe(topic, sink),
      /** Whether items from other nodes flow (always true on a single node). */
      healthy: (): boolean => bridge === null || bridge.isHealthy(),
      onHealthChange: (listener: HealthListener): (() => void) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      }
    } as const
  })
}) {}
