/**
 * The Sensor actor's behaviour. One incarnation per sensor id on the node that owns its shard:
 * loads config and snapshot on first message, decides every batch in one synchronous step over its
 * state (so concurrent messages cannot interleave inside a decision), hands accepted readings (and,
 * on schedule, its snapshot) to the node's writer, and only then waits, off the decision path, for
 * the commit.
 */
import { externalId } from "../domain/tenancy.js"
import { Entity } from "@effect/cluster"
import { Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"
import { decodeStoredPatch, effectiveConfig } from "../domain/sensor-config.js"
import { LiveFeed } from "../live/live-feed.js"
import { SensorActivation } from "../storage/sensor-activation.js"
import { type CommitTicket, type Flushed, type SnapshotSource, Writer } from "../storage/writer.js"
import { activeSensors, sensorTransitions } from "../telemetry/metrics.js"
import { RejectCode } from "./core/classify.js"
import { applyConfig, createSensorCore, defaultCoreConfig, replayStored, type SensorCore, stepBatch } from "./core/sensor-core.js"
import { carryRuleStates, evaluateBatch, ruleStatesFromJson, ruleStatesToJson } from "./core/rules.js"
import type { AlertSignal, RuleState } from "./core/rule-types.js"
import type { CoreConfig, StatusTransition } from "./core/types.js"
import { notifierOf } from "./notifier-protocol.js"
import { NotDurableYet, Sensor, SensorBusy, SensorUnavailable, UNSTORABLE_CODE } from "./protocol.js"
import { SensorEvents } from "./sensor-events.js"
import { windowView } from "./core/window-view.js"
import { restoreCore, serializeCore } from "./snapshot.js"
import { newSchedule, onChange, onTrailing, phaseOf } from "./snapshot-schedule.js"
import { toStateView } from "./state-view.js"
import { logInfo, logWarning } from "../telemetry/log.js"

interface Resident {
  readonly key: number
  cfg: CoreConfig
  core: SensorCore
  /** One per alert rule of `cfg`, index-aligned; saved in the snapshot beside the core. */
  rules: Array<RuleState>
  readonly source: SnapshotSource
}

type Recorded = { readonly codes: Array<number>; readonly durable: boolean }

/**
 * The batch's rows went into the writer's buffer from `firstRow` on, one per accepted reading in
 * order; those PostgreSQL refused are answered unstorable instead of accepted.
 */
const markUnstored = (codes: Array<number>, flushed: Flushed, firstRow: number): Array<number> => {
  if (flushed.unstored.length === 0) return codes
  const refused = new Set(flushed.unstored)
  let row = firstRow
  for (let i = 0; i < codes.length; i++) {
    if (codes[i]! < 0) continue
    if (refused.has(row)) codes[i] = UNSTORABLE_CODE
    row++
  }
  return codes
}

const behaviour = Effect.gen(function* () {
  const sensorId = (yield* Entity.CurrentAddress).entityId
  const writer = yield* Writer
  const activation = yield* SensorActivation
  const events = yield* SensorEvents
  const live = yield* LiveFeed
  const { entity, alerts } = yield* AppConfig
  const notifier = notifierOf(sensorId)
  const scope = yield* Effect.scope

  let resident: Resident | null = null
  let lastTicket = Option.none<CommitTicket>()
  // Sensors that start together (a node restart, a fleet connecting) spread their snapshots over the interval.
  const schedule = newSchedule(Date.now() - phaseOf(sensorId, entity.snapshotIntervalMs))

  const trailingSnapshot = (r: Resident, inMs: number) =>
    Effect.sleep(Duration.millis(inMs)).pipe(
      Effect.zipRight(
        Effect.sync(() => {
          if (resident === r && onTrailing(schedule, Date.now())) lastTicket = Option.some(writer.commitPoint(r.source))
        })
      ),
      Effect.forkIn(scope),
      Effect.asVoid
    )

  /**
   * Hands the batch (and the snapshot, when due) to the writer, synchronously; returns the commit
   * to await and the effect that schedules a trailing snapshot if one is needed.
   */
  const commit = (r: Resident): readonly [CommitTicket, Effect.Effect<void>] => {
    const decision = onChange(schedule, Date.now(), entity.snapshotIntervalMs)
    const ticket = writer.commitPoint(decision._tag === "Now" ? r.source : null)
    lastTicket = Option.some(ticket)
    return [ticket, decision._tag === "Later" ? trailingSnapshot(r, decision.inMs) : Effect.void]
  }

  activeSensors.inc()
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      activeSensors.dec()
      // The next incarnation restores from PostgreSQL: write the latest state and let it land.
      if (resident !== null && schedule.dirty) lastTicket = Option.some(writer.commitPoint(resident.source))
      if (Option.isSome(lastTicket)) yield* writer.awaitCommit(lastTicket.value).pipe(Effect.ignore)
    })
  )

  const load = Effect.gen(function* () {
    const row = yield* activation.activate(sensorId).pipe(
      Effect.retry({ times: 2 }),
      Effect.mapError((e) => new SensorUnavailable({ message: e.message }))
    )
    const cfg = effectiveConfig(defaultCoreConfig, Option.getOrElse(decodeStoredPatch(row.config), () => ({})))
    const now = Date.now()
    const restored = row.snapshot === null ? null : restoreCore(cfg, row.snapshot, now)
    if (restored?.restored === false) yield* logWarning("unreadable snapshot; sensor starts afresh", { sensor: sensorId })
    // A sensor never stored before writes its first snapshot with its first batch: until then
    // `sensor_state.last_seen` does not exist, and the offline sweep would see it as silent.
    if (row.snapshot === null) schedule.lastWrittenAt = Number.NEGATIVE_INFINITY
    const core = restored?.core ?? createSensorCore(cfg, now)
    // Readings committed after the snapshot (the previous owner was killed before its next one).
    const replayed = replayStored(core, cfg, { ts: row.tail.ts, value: row.tail.values, quality: row.tail.quality, length: row.tail.ts.length })
    if (replayed > 0) yield* logInfo("replayed readings stored after the snapshot", { sensor: sensorId, readings: replayed })
    const rules = ruleStatesFromJson(cfg.rules, restored?.rules ?? null)
    const loaded: Resident = {
      key: row.key,
      cfg,
      core,
      rules,
      source: { sensorKey: row.key, snapshot: () => serializeCore(loaded.core, ruleStatesToJson(loaded.cfg.rules, loaded.rules)) }
    }
    resident = loaded
    return loaded
  })

  // Concurrent first messages must share one load, or each would decide against its own state.
  const loadLock = yield* Effect.makeSemaphore(1)
  const ensureLoaded = loadLock.withPermits(1)(Effect.suspend(() => (resident !== null ? Effect.succeed(resident) : load)))

  const withResident = <A, E>(f: (r: Resident) => Effect.Effect<A, E>) =>
    Effect.suspend(() => (resident !== null ? f(resident) : Effect.flatMap(ensureLoaded, f)))

  const announce = (transitions: ReadonlyArray<StatusTransition>) =>
    Effect.forEach(
      transitions,
      (t) => {
        sensorTransitions.labels(t.to).inc()
        live.publishState({ sensor: sensorId, from: t.from, to: t.to, at: t.at, reason: t.reason })
        return Effect.zipRight(
          logInfo("sensor status changed", { sensor: sensorId, from: t.from, to: t.to, reason: t.reason }),
          events.publish({ _tag: "SensorStatusChanged", sensor: sensorId, ...t })
        )
      },
      { discard: true }
    )

  /** Alert signals go to the outbox in the same flush as the batch's readings. */
  const raise = (signals: ReadonlyArray<AlertSignal>, receivedAt: number) => {
    for (const signal of signals) writer.pushAlert(notifier, { ...signal, sensor: sensorId, receivedAt })
  }

  const record = (
    r: Resident,
    payload: { readonly ts: ReadonlyArray<number>; readonly values: ReadonlyArray<number>; readonly receivedAt: number; readonly durable: boolean }
  ): Effect.Effect<Recorded, SensorBusy | NotDurableYet> => {
    const n = payload.ts.length
    if (!writer.hasRoom(n)) {
      const o = writer.overloaded()
      return Effect.fail(new SensorBusy({ queuedRows: o.queuedRows, capacityRows: o.capacityRows }))
    }
    const out = new Int32Array(n)
    const firstRow = writer.rowCursor()
    const transitions = stepBatch(r.core, r.cfg, { ts: payload.ts, value: payload.values, length: n }, payload.receivedAt, out)
    let accepted = 0
    let duplicates = 0
    for (let i = 0; i < n; i++) {
      const code = out[i]!
      if (code >= 0) {
        writer.push(r.key, payload.ts[i]!, payload.values[i]!, code)
        accepted++
      } else if (code === RejectCode.duplicate) duplicates++
    }
    if (r.cfg.rules.length > 0) {
      const view = { ts: payload.ts, values: payload.values, codes: out, length: n }
      raise(evaluateBatch(r.cfg.rules, r.rules, view, windowView(r.core.window), transitions, r.core.status, payload.receivedAt, alerts.updateIntervalMs), payload.receivedAt)
    }
    const [ticket, trailing] = commit(r)
    if (accepted > 0) live.publishReadings(sensorId, payload.ts, payload.values, out, payload.receivedAt)
    const codes = Array.from(out)
    const announced = transitions.length > 0 ? Effect.zipRight(trailing, announce(transitions)) : trailing
    // A duplicate's original may still be queued: a durable answer waits for this batch's commit,
    // which comes after every earlier one, so "duplicate" means stored, as "accepted" does.
    if (!payload.durable || (accepted === 0 && duplicates === 0)) return Effect.as(announced, { codes, durable: accepted === 0 })
    // Duplicates only: nothing of this batch is queued, but an original may be; wait for what is pending.
    const awaited = accepted > 0 ? ticket : writer.barrier()
    return announced.pipe(
      Effect.zipRight(writer.awaitCommit(awaited)),
      Effect.map((flushed) => ({ codes: markUnstored(codes, flushed, firstRow), durable: true })),
      Effect.catchTag("CommitTimeout", (e) => Effect.fail(new NotDurableYet({ waitedMs: e.waitedMs })))
    )
  }

  return Sensor.of({
    RecordReadings: ({ payload }) => withResident((r) => record(r, payload)),
    // Callers see the sensor by the id its tenant knows.
    GetState: () => withResident((r) => Effect.succeed(toStateView(externalId(sensorId), r.core))),
    Configure: ({ payload }) =>
      withResident((r) =>
        Effect.suspend(() => {
          const now = Date.now()
          const carried = carryRuleStates(r.cfg.rules, r.rules, payload.config.rules, now)
          r.cfg = payload.config
          r.rules = carried.states
          applyConfig(r.core, payload.config)
          raise(carried.signals, now)
          return commit(r)[1]
        })
      ),
    Forget: () =>
      Effect.sync(() => {
        // A deleted sensor's open alerts resolve: its rules are gone.
        if (resident !== null) {
          const now = Date.now()
          raise(carryRuleStates(resident.cfg.rules, resident.rules, [], now).signals, now)
          writer.commitPoint(null)
        }
        resident = null
        schedule.dirty = false
      })
  })
})

export const SensorEntityLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ entity }) =>
    Sensor.toLayer(behaviour, {
      maxIdleTime: entity.maxIdleMs,
      concurrency: "unbounded",
      mailboxCapacity: entity.mailboxCapacity
    })
  )
)
