/**
 * The cluster's one alert sweeper (a `Singleton`: exactly one node runs it, another takes over when
 * that node goes). Every `ALERT_SWEEP_MS` it raises and clears offline alerts from
 * `sensor_state.last_seen`; clears alerts whose sensor or rule was removed while the sensor was
 * passivated (no actor was there to clear them); hands on outbox events older than
 * `ALERT_OUTBOX_REDELIVER_MS` (their node died between commit and hand-over, or the notifier was
 * unreachable); and reminds the notifiers that owe a channel a notification older than that
 * (their fan-out was cut short: whichever node runs the notifier now delivers it). Hourly it
 * deletes alert history past ALERT_RETENTION_DAYS.
 */
import { Singleton } from "@effect/cluster"
import { Duration, Effect, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { AlertRepo, type OrphanedAlert } from "../storage/alert-repo.js"
import { OfflineRepo, type ReturnedSensor, type SilentSensor } from "../storage/offline-repo.js"
import { logWarning } from "../telemetry/log.js"
import { alertOutboxRedelivered } from "../telemetry/metrics.js"
import { AlertRelay } from "./alert-relay.js"
import type { SensorAlertEvent } from "../domain/alert-event.js"
import { notifierOf } from "./notifier-protocol.js"

const BATCH = 1_000
/** The stored rule is the user's patch, where severity may be left to its default. */
const severityOf = (s: string | null): SensorAlertEvent["severity"] => (s === "info" || s === "critical" ? s : "warning")

const wentOffline = (s: SilentSensor, now: number): SensorAlertEvent => ({
  sensor: s.sensor,
  rule: s.rule,
  kind: "offline",
  severity: severityOf(s.severity),
  signal: "raised",
  at: now,
  receivedAt: now,
  value: null,
  count: 1,
  message: `no reading for ${Math.round((now - s.lastSeen) / 1000)} s (offline after ${s.afterSeconds} s)`,
  cooldownMs: s.cooldownSeconds === null ? null : s.cooldownSeconds * 1000
})

const cameBack = (s: ReturnedSensor, now: number): SensorAlertEvent => ({
  sensor: s.sensor,
  rule: s.rule,
  kind: "offline",
  severity: severityOf(s.severity),
  signal: "cleared",
  at: now,
  receivedAt: now,
  value: null,
  count: 0,
  message: s.ruleGone ? "rule removed" : "reporting again",
  cooldownMs: null
})

const ruleGone = (a: OrphanedAlert, now: number): SensorAlertEvent => ({
  sensor: a.sensor,
  rule: a.rule,
  kind: a.kind,
  severity: severityOf(a.severity),
  signal: "cleared",
  at: now,
  receivedAt: now,
  value: null,
  count: 0,
  message: a.sensorGone ? "sensor deleted" : "rule removed",
  cooldownMs: null
})

const sweep = Effect.gen(function* () {
  const { alerts, entity } = yield* AppConfig
  const repo = yield* AlertRepo
  const offline = yield* OfflineRepo
  const relay = yield* AlertRelay
  // How far last_seen may trail the newest reading: a snapshot interval, plus a second for the flush.
  const lagSeconds = entity.snapshotIntervalMs / 1000 + 1

  const stale = yield* repo.staleOutbox(alerts.outboxRedeliverMs, BATCH)
  if (stale.length > 0) {
    alertOutboxRedelivered.inc(stale.length)
    yield* relay.sendStored(stale)
  }
  const owing = yield* repo.owingNotifiers(alerts.outboxRedeliverMs, BATCH)
  if (owing.length > 0) yield* relay.resumeFanOut(owing)
  const now = Date.now()
  const events = [
    ...(yield* offline.silent(lagSeconds, BATCH)).map((s) => wentOffline(s, now)),
    ...(yield* offline.returned(BATCH)).map((s) => cameBack(s, now)),
    ...(yield* repo.orphanedAlerts(alerts.outboxRedeliverMs, BATCH)).map((a) => ruleGone(a, now))
  ]
  if (events.length === 0) return
  const ids = yield* repo.insertOutbox(events.map((e) => ({ n: notifierOf(e.sensor), e })))
  yield* relay.send(events.map((e, i) => ({ id: ids[i] ?? 0, notifier: notifierOf(e.sensor), event: e })).filter((r) => r.id > 0))
})

/** History is bounded: resolved alerts, summaries and dead letters go after ALERT_RETENTION_DAYS. */
const prune = Effect.gen(function* () {
  const { alerts } = yield* AppConfig
  const repo = yield* AlertRepo
  yield* repo.prune(alerts.retentionDays)
})

export const AlertSweeperLive = Singleton.make(
  "flowmesh/AlertSweeper",
  Effect.flatMap(AppConfig, ({ alerts }) =>
    Effect.all(
      [
        sweep.pipe(
          Effect.catchAllCause((cause) => logWarning("alert sweep failed; next sweep retries", { cause: String(cause) })),
          Effect.repeat(Schedule.spaced(Duration.millis(alerts.sweepMs)))
        ),
        prune.pipe(
          Effect.catchAllCause((cause) => logWarning("alert history pruning failed; retried in an hour", { cause: String(cause) })),
          Effect.repeat(Schedule.spaced(Duration.hours(1)))
        )
      ],
      { concurrency: "unbounded", discard: true }
    )
  )
)
