/**
 * A ShardHost: the sensor actors of one cluster shard on the node that owns it, kept in a map.
 * Plain and synchronous: a batch for a resident sensor is decided in the caller's call (the ingest
 * gateway in-process, or the host entity for a cluster message). A sensor seen for the first time
 * is loaded (batched with every other first contact of the same turn of the event loop) while its
 * batches wait in arrival order. Idle sensors are evicted once their snapshot has committed; a
 * batch arriving meanwhile keeps the one in memory. Closing (shard release) hands every dirty
 * snapshot to the writer first. One sensor's failing step drops that sensor only.
 *
 * `T` is the writer's commit ticket, opaque here (tests use their own writer).
 */
import { RejectCode } from "../core/classify.js"
import { applyConfig, stepBatch } from "../core/sensor-core.js"
import { carryRuleStates, evaluateBatch } from "../core/rules.js"
import type { AlertSignal } from "../core/rule-types.js"
import type { CoreConfig } from "../domain/sensor-settings.js"
import type { StatusTransition } from "../domain/reasons.js"
import { windowView } from "../core/window-view.js"
import type { InternalId } from "../domain/tenancy.js"
import { BUSY, type BatchSink, type HostFailure, type HostPorts, MOVED } from "./host-ports.js"
import { activate, SensorActor } from "./sensor-actor.js"

interface Waiting {
  readonly ops: Array<(actor: SensorActor | HostFailure) => void>
}

/**
 * A stable phase in [0, intervalMs) for a sensor (FNV-1a of its id): sensors that start together
 * (a node restart, a fleet's first readings) spread their snapshots over the interval instead of
 * all writing them in the same second, one interval later.
 */
export const phaseOf = (id: string, intervalMs: number): number => {
  if (intervalMs <= 0) return 0
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  return (h >>> 0) % intervalMs
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export class ShardHost<T> {
  private readonly sensors = new Map<string, SensorActor | Waiting>()
  private readonly dirty: Array<SensorActor> = []
  private toLoad: Array<string> = []
  private closed = false
  /** Counts uses of sensors (batches, reads, config changes). */
  private uses = 0
  private lastScanAt: number

  constructor(
    readonly shard: number,
    private readonly ports: HostPorts<T>
  ) {
    this.lastScanAt = ports.now()
  }

  get isOpen(): boolean {
    return !this.closed
  }

  /** Sensors in memory (loading ones included). */
  get size(): number {
    return this.sensors.size
  }

  /** Decides one sensor's batch now if it is resident, else once it is loaded; the answer goes to `sink`. */
  record(sensor: InternalId, ts: ReadonlyArray<number>, values: ReadonlyArray<number>, receivedAt: number, durable: boolean, sink: BatchSink<T>, slot: number): void {
    if (this.closed) {
      sink.failed(slot, MOVED)
      return
    }
    const s = this.sensors.get(sensor)
    if (s instanceof SensorActor) {
      this.step(s, ts, values, receivedAt, durable, sink, slot)
      return
    }
    this.whenLoaded(sensor, s, (a) =>
      a instanceof SensorActor ? this.step(a, ts, values, receivedAt, durable, sink, slot) : sink.failed(slot, a)
    )
  }

  /** Runs `f` on the sensor (loading it first if needed), in order with its batches. */
  withSensor(sensor: string, f: (actor: SensorActor | HostFailure) => void): void {
    if (this.closed) {
      f(MOVED)
      return
    }
    const s = this.sensors.get(sensor)
    if (s instanceof SensorActor) {
      this.touch(s, this.ports.now())
      f(s)
      return
    }
    this.whenLoaded(sensor, s, f)
  }

  /** Applies a new effective config (already stored in PostgreSQL by the caller). */
  configure(actor: SensorActor, config: CoreConfig): void {
    const now = this.ports.now()
    const carried = carryRuleStates(actor.cfg.rules, actor.rules, config.rules, now)
    actor.cfg = config
    actor.rules = carried.states
    applyConfig(actor.core, config)
    this.raise(actor, carried.signals, now)
    this.changed(actor, now)
  }

  /** The sensor was deleted: its open alerts resolve, and the next message starts afresh. */
  forget(sensor: string): void {
    const s = this.sensors.get(sensor)
    if (s instanceof SensorActor) {
      const now = this.ports.now()
      this.raise(s, carryRuleStates(s.cfg.rules, s.rules, [], now).signals, now)
      this.ports.writer.commitPoint(null)
      s.dirty = false
    } else if (s !== undefined) {
      for (const op of s.ops) op({ _tag: "Unavailable", message: "the sensor was deleted" })
    }
    this.sensors.delete(sensor)
  }

  /**
   * The node-wide sweep: trailing snapshots of sensors changed since their last one, and (every
   * quarter of the idle time) eviction of sensors idle for `idleMs()`, once their state is committed.
   */
  sweep(): void {
    if (this.closed) return
    const now = this.ports.now()
    const interval = this.ports.snapshotIntervalMs
    let kept = 0
    for (let i = 0; i < this.dirty.length; i++) {
      const a = this.dirty[i]!
      if (!a.dirty || this.sensors.get(a.id) !== a) {
        a.listed = false
      } else if (now - a.lastSnapshotAt >= interval) {
        this.snapshotNow(a, now)
        a.listed = false
      } else this.dirty[kept++] = a
    }
    this.dirty.length = kept
    const idleMs = this.ports.idleMs()
    if (now - this.lastScanAt < idleMs / 4) return
    this.lastScanAt = now
    const idle: Array<SensorActor> = []
    for (const s of this.sensors.values()) {
      if (s instanceof SensorActor && now - s.lastUsedAt >= idleMs) {
        if (s.dirty) this.snapshotNow(s, now)
        idle.push(s)
      }
    }
    if (idle.length > 0) this.evictOnceCommitted(idle, this.uses)
  }

  /** Stops taking batches; every dirty sensor's snapshot goes to the writer. Returns the ticket to await. */
  close(): T {
    this.closed = true
    const now = this.ports.now()
    for (const [id, s] of this.sensors) {
      if (s instanceof SensorActor) {
        if (s.dirty) this.snapshotNow(s, now)
      } else for (const op of s.ops) op(MOVED)
      this.sensors.delete(id)
    }
    this.dirty.length = 0
    return this.ports.writer.barrier()
  }

  /** Their snapshots are in the writer: once committed, the ones not used meanwhile leave memory. */
  private evictOnceCommitted(idle: ReadonlyArray<SensorActor>, mark: number): void {
    this.ports.writer.whenCommitted(this.ports.writer.barrier(), (committed) => {
      if (!committed) return
      for (const a of idle) {
        // Used again meanwhile: it stays, and keeps deciding from memory.
        if (this.sensors.get(a.id) === a && a.lastUse <= mark && !a.dirty) this.sensors.delete(a.id)
      }
    })
  }

  private snapshotNow(a: SensorActor, now: number): T {
    a.dirty = false
    // A sensor's first snapshot sets its phase; from then on one every interval.
    a.lastSnapshotAt = a.lastSnapshotAt === Number.NEGATIVE_INFINITY ? now - phaseOf(a.id, this.ports.snapshotIntervalMs) : now
    return this.ports.writer.commitPoint(a)
  }

  /** After a change: the snapshot rides with this commit if the interval has passed, else the sweep writes it. */
  private touch(a: SensorActor, now: number): void {
    a.lastUsedAt = now
    a.lastUse = ++this.uses
  }

  private changed(a: SensorActor, now: number): T {
    this.touch(a, now)
    if (now - a.lastSnapshotAt >= this.ports.snapshotIntervalMs) return this.snapshotNow(a, now)
    a.dirty = true
    if (!a.listed) {
      a.listed = true
      this.dirty.push(a)
    }
    return this.ports.writer.commitPoint(null)
  }

  private raise(a: SensorActor, signals: ReadonlyArray<AlertSignal>, receivedAt: number): void {
    if (signals.length === 0) return
    const notifier = this.ports.notifierOf(a.id)
    for (const signal of signals) this.ports.writer.pushAlert(notifier, { ...signal, sensor: a.id, receivedAt })
  }

  private step(a: SensorActor, ts: ReadonlyArray<number>, values: ReadonlyArray<number>, receivedAt: number, durable: boolean, sink: BatchSink<T>, slot: number): void {
    const n = ts.length
    const w = this.ports.writer
    if (!w.hasRoom(n)) {
      sink.failed(slot, BUSY)
      return
    }
    const out = sink.codesFor?.(slot, n) ?? new Int32Array(n)
    let transitions: ReadonlyArray<StatusTransition>
    let signals: ReadonlyArray<AlertSignal> | null = null
    try {
      transitions = stepBatch(a.core, a.cfg, { ts, value: values, length: n }, receivedAt, out)
      if (a.cfg.rules.length > 0) {
        const view = { ts, values, codes: out, length: n }
        signals = evaluateBatch(a.cfg.rules, a.rules, view, windowView(a.core.window), transitions, a.core.status, receivedAt, this.ports.alertUpdateIntervalMs)
      }
    } catch (e) {
      // Its state may be half-updated: it reloads from what is committed on its next batch.
      this.sensors.delete(a.id)
      sink.failed(slot, { _tag: "Unavailable", message: `sensor ${a.id} failed to decide a batch (${message(e)}); it restarts from its stored state` })
      return
    }
    const firstRow = w.rowCursor()
    let accepted = 0
    let duplicates = 0
    for (let i = 0; i < n; i++) {
      const code = out[i]!
      if (code >= 0) {
        w.push(a.sensorKey, ts[i]!, values[i]!, code, a.id)
        accepted++
      } else if (code === RejectCode.duplicate) duplicates++
    }
    if (signals !== null) this.raise(a, signals, receivedAt)
    const ticket = this.changed(a, this.ports.now())
    if (accepted > 0) this.ports.publishReadings(a.id, ts, values, out, receivedAt)
    if (transitions.length > 0) this.ports.onTransitions(a.id, transitions)
    // A duplicate's original may still be queued: a durable answer waits for what is pending, so
    // "duplicate" means stored, as "accepted" does.
    const wait = !durable ? null : accepted > 0 ? ticket : duplicates > 0 ? w.barrier() : null
    sink.decided(slot, out, wait, firstRow)
  }

  private whenLoaded(sensor: string, s: Waiting | undefined, op: (actor: SensorActor | HostFailure) => void): void {
    if (s !== undefined) {
      s.ops.push(op)
      return
    }
    this.sensors.set(sensor, { ops: [op] })
    if (this.toLoad.push(sensor) === 1) this.ports.defer(() => this.loadPending())
  }

  private loadPending(): void {
    const ids = this.toLoad
    this.toLoad = []
    if (this.closed) return
    this.ports.load(ids, (rows, error) => {
      for (const id of ids) {
        const waiting = this.sensors.get(id)
        if (waiting === undefined || waiting instanceof SensorActor) continue
        const row = rows.get(id)
        let result: SensorActor | HostFailure
        if (this.closed) result = MOVED
        else if (error !== null || row === undefined) {
          result = { _tag: "Unavailable", message: error ?? `sensor ${id} could not be loaded` }
          this.sensors.delete(id)
        } else {
          try {
            const now = this.ports.now()
            const activated = activate(row, now)
            if (activated.actor.lastSnapshotAt !== Number.NEGATIVE_INFINITY) activated.actor.lastSnapshotAt = now - phaseOf(id, this.ports.snapshotIntervalMs)
            this.ports.onActivated(activated)
            result = activated.actor
            this.sensors.set(id, activated.actor)
          } catch (e) {
            result = { _tag: "Unavailable", message: `sensor ${id} could not be restored: ${message(e)}` }
            this.sensors.delete(id)
          }
        }
        for (const op of waiting.ops) op(result)
      }
    })
  }
}
