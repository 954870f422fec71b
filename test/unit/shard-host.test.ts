/**
 * Hosting must not change what a sensor decides. For any interleaving of batches across many
 * sensors, config changes, forgets, reads, snapshot loads completing late, commits, sweeps (trailing
 * snapshots and evictions) and host close/reopen, the hosted sensors decide exactly what one sensor
 * core per sensor decides in that sensor's arrival order: the same codes, status transitions, alert
 * signals, live items and, at the end, the same stored snapshots.
 *
 * The host's ports here are an in-memory store with PostgreSQL's semantics as the host sees them:
 * rows and snapshots become visible to a load only once their buffer commits.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createSensorCore, type SensorCore, stepBatch, toSnapshot, applyConfig } from "../../src/core/sensor-core.js"
import { defaultCoreConfig } from "../../src/domain/sensor-settings.js"
import { carryRuleStates, evaluateBatch, ruleStatesFromJson, ruleStatesToJson } from "../../src/core/rules.js"
import type { RuleState } from "../../src/core/rule-types.js"
import type { CoreConfig } from "../../src/domain/sensor-settings.js"
import type { StatusTransition } from "../../src/domain/reasons.js"
import { windowView } from "../../src/core/window-view.js"
import type { StoredSensor } from "../../src/actors/sensor-actor.js"
import { SensorActor } from "../../src/actors/sensor-actor.js"
import { ShardHost } from "../../src/actors/shard-host.js"
import type { BatchSink, HostFailure, HostPorts } from "../../src/actors/host-ports.js"
import { toStateView } from "../../src/actors/state-view.js"
import { storedInternalId } from "../../src/domain/tenancy.js"
import { decodeStoredPatch, effectiveConfig } from "../../src/domain/sensor-config.js"
import type { SnapshotSource } from "../../src/storage/write-buffer.js"
import { Option } from "effect"

const PATCHES: ReadonlyArray<object> = [{}, { hardMax: 50, rules: [{ id: "hot", kind: "threshold", severity: "warning", high: 40 }] }, { windowSize: 5, spikeSigma: 2 }]
const configOf = (patch: object): CoreConfig => effectiveConfig(defaultCoreConfig, Option.getOrElse(decodeStoredPatch(patch), () => ({})))

type Op =
  | { readonly k: "batch"; readonly sensor: number; readonly values: ReadonlyArray<number>; readonly gaps: ReadonlyArray<number> }
  | { readonly k: "config"; readonly sensor: number; readonly patch: number }
  | { readonly k: "forget"; readonly sensor: number }
  | { readonly k: "read"; readonly sensor: number }
  | { readonly k: "loads" }
  | { readonly k: "commit" }
  | { readonly k: "sweep"; readonly advanceMs: number }
  | { readonly k: "reopen" }

const SENSORS = 6
const sensorArb = fc.integer({ min: 0, max: SENSORS - 1 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant("batch" as const), sensor: sensorArb, values: fc.array(fc.integer({ min: -5, max: 80 }), { minLength: 1, maxLength: 6 }), gaps: fc.array(fc.integer({ min: -2, max: 3 }), { minLength: 6, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("config" as const), sensor: sensorArb, patch: fc.integer({ min: 0, max: PATCHES.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("forget" as const), sensor: sensorArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("read" as const), sensor: sensorArb }) },
  { weight: 3, arbitrary: fc.constant({ k: "loads" as const }) },
  { weight: 3, arbitrary: fc.constant({ k: "commit" as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("sweep" as const), advanceMs: fc.integer({ min: 0, max: 1_500 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: "reopen" as const }) }
)

/** What one sensor core per sensor decides, in arrival order: the reference. */
interface Reference {
  cfg: CoreConfig
  core: SensorCore
  rules: Array<RuleState>
}

interface Row {
  readonly ts: number
  readonly value: number
  readonly quality: number
}

/** PostgreSQL as the host sees it: committed rows, snapshots and configs; a pending buffer. */
class Store {
  readonly rows = new Map<number, Array<Row>>()
  readonly snapshots = new Map<number, string>()
  readonly configs = new Map<string, object>()
  readonly keys = new Map<string, number>()
  pendingRows: Array<Row & { readonly key: number }> = []
  pendingSnapshots = new Map<number, SnapshotSource>()
  ticket = 1
  committed = 0
  waiting: Array<{ readonly ticket: number; readonly done: (ok: boolean) => void }> = []
  deferred: Array<() => void> = []
  loads: Array<{ readonly ids: ReadonlyArray<string>; readonly done: (rows: ReadonlyMap<string, StoredSensor>, error: string | null) => void }> = []

  nextKey = 1

  keyOf(id: string): number {
    let key = this.keys.get(id)
    if (key === undefined) {
      key = this.nextKey++
      this.keys.set(id, key)
    }
    return key
  }

  commit(): void {
    for (const r of this.pendingRows) {
      const list = this.rows.get(r.key) ?? []
      list.push({ ts: r.ts, value: r.value, quality: r.quality })
      this.rows.set(r.key, list)
    }
    for (const [key, source] of this.pendingSnapshots) this.snapshots.set(key, JSON.stringify(source.snapshot().state))
    this.pendingRows = []
    this.pendingSnapshots = new Map()
    this.committed = this.ticket
    this.ticket++
    const due = this.waiting.filter((w) => w.ticket <= this.committed)
    this.waiting = this.waiting.filter((w) => w.ticket > this.committed)
    for (const w of due) w.done(true)
  }

  completeLoads(): void {
    for (const f of this.deferred.splice(0)) f()
    const loads = this.loads
    this.loads = []
    for (const { ids, done } of loads) {
      const found = new Map<string, StoredSensor>()
      for (const id of ids) {
        const key = this.keyOf(id)
        const json = this.snapshots.get(key)
        const snapshot: unknown = json === undefined ? null : JSON.parse(json)
        const last = snapshot === null ? Number.NEGATIVE_INFINITY : ((snapshot as { lastAcceptedTs: number | null }).lastAcceptedTs ?? Number.NEGATIVE_INFINITY)
        const cfg = configOf(this.configs.get(id) ?? {})
        const tail = (this.rows.get(key) ?? []).filter((r) => r.ts > last).sort((a, b) => a.ts - b.ts).slice(-cfg.windowSize)
        found.set(id, { id, key, config: this.configs.get(id) ?? {}, snapshot, tail: { ts: tail.map((r) => r.ts), values: tail.map((r) => r.value), quality: tail.map((r) => r.quality) } })
      }
      done(found, null)
    }
  }

  forget(id: string): void {
    const key = this.keys.get(id)
    this.configs.delete(id)
    if (key === undefined) return
    this.keys.delete(id)
    this.rows.delete(key)
    this.snapshots.delete(key)
  }
}

interface Observed {
  readonly transitions: Map<string, Array<StatusTransition>>
  readonly signals: Map<string, Array<object>>
  readonly live: Map<string, Array<string>>
}

const push = <A>(m: Map<string, Array<A>>, k: string, a: A) => {
  const list = m.get(k)
  if (list === undefined) m.set(k, [a])
  else list.push(a)
}

const makePorts = (store: Store, clock: { now: number }, seen: Observed): HostPorts<number> => ({
  writer: {
    hasRoom: () => true,
    push: (key, ts, value, quality) => store.pendingRows.push({ key, ts, value, quality }),
    rowCursor: () => store.pendingRows.length,
    commitPoint: (source) => {
      if (source !== null) store.pendingSnapshots.set(source.sensorKey, source)
      return store.ticket
    },
    barrier: () => store.ticket,
    pushAlert: (_notifier, event) => push(seen.signals, (event as { sensor: string }).sensor, event),
    whenCommitted: (ticket, done) => {
      if (ticket <= store.committed) done(true)
      else store.waiting.push({ ticket, done })
    }
  },
  publishReadings: (sensor, ts, values, codes) => push(seen.live, sensor, JSON.stringify([ts, values, Array.from(codes)])),
  onTransitions: (sensor, transitions) => {
    for (const t of transitions) push(seen.transitions, sensor, t)
  },
  onActivated: () => {},
  load: (ids, done) => store.loads.push({ ids, done }),
  notifierOf: () => "n",
  now: () => clock.now,
  defer: (f) => store.deferred.push(f),
  snapshotIntervalMs: 400,
  alertUpdateIntervalMs: 0,
  idleMs: () => 1_000
})

/** The parts of a snapshot that hosting may not change (a fresh sensor's creation time is when it loads). */
const comparable = (snapshot: object) => {
  const s = { ...(snapshot as Record<string, unknown>) }
  delete s.bucket
  if (s.status === "unknown") delete s.statusSince
  return s
}

const run = (ops: ReadonlyArray<Op>) => {
  const store = new Store()
  const clock = { now: 1_000_000 }
  const seen: Observed = { transitions: new Map(), signals: new Map(), live: new Map() }
  const expected: Observed = { transitions: new Map(), signals: new Map(), live: new Map() }
  const ports = makePorts(store, clock, seen)
  let host = new ShardHost(1, ports)
  const refs = new Map<string, Reference>()
  const lastTs = new Map<string, number>()
  const moved: Array<() => void> = []
  const failures: Array<string> = []
  let answered = 0
  let sent = 0

  const refOf = (id: string): Reference => {
    let r = refs.get(id)
    if (r === undefined) {
      const cfg = configOf(store.configs.get(id) ?? {})
      r = { cfg, core: createSensorCore(cfg, clock.now), rules: ruleStatesFromJson(cfg.rules, null) }
      refs.set(id, r)
    }
    return r
  }
  const loading = (id: string) => store.loads.some((l) => l.ids.includes(id))
  const pendingLoad = (id: string) => loading(id) || (host as unknown as { toLoad: Array<string> }).toLoad.includes(id)
  // A config change reaches a sensor that is not in memory through its stored row, which the
  // load reads: that is the row's semantics, not hosting's, so this property changes resident ones.
  const resident = (id: string) => (host as unknown as { sensors: Map<string, unknown> }).sensors.get(id) instanceof SensorActor

  const submit = (id: string, ts: ReadonlyArray<number>, values: ReadonlyArray<number>, receivedAt: number, want: Int32Array) => {
    const sink: BatchSink<number> = {
      decided: (_slot, codes) => {
        answered++
        if (JSON.stringify(Array.from(codes)) !== JSON.stringify(Array.from(want))) failures.push(`${id}: decided ${Array.from(codes)} but one core decides ${Array.from(want)}`)
      },
      failed: (_slot, f: HostFailure) => {
        if (f._tag === "Moved") moved.push(() => submit(id, ts, values, receivedAt, want))
        else {
          answered++
          failures.push(`${id}: failed ${f._tag}`)
        }
      }
    }
    host.record(storedInternalId(id), ts, values, receivedAt, false, sink, 0)
  }

  for (const op of ops) {
    clock.now += 1
    switch (op.k) {
      case "batch": {
        const id = `s${op.sensor}`
        const r = refOf(id)
        let t = lastTs.get(id) ?? 500_000
        const ts = op.values.map((_, i) => (t += op.gaps[i] ?? 1))
        lastTs.set(id, Math.max(t, lastTs.get(id) ?? 0))
        const out = new Int32Array(ts.length)
        const transitions = stepBatch(r.core, r.cfg, { ts, value: op.values, length: ts.length }, clock.now, out)
        if (r.cfg.rules.length > 0) {
          const signals = evaluateBatch(r.cfg.rules, r.rules, { ts, values: op.values, codes: out, length: ts.length }, windowView(r.core.window), transitions, r.core.status, clock.now, 0)
          for (const s of signals) push(expected.signals, id, { ...s, sensor: id, receivedAt: clock.now })
        }
        for (const t of transitions) push(expected.transitions, id, t)
        if (out.some((c) => c >= 0)) push(expected.live, id, JSON.stringify([ts, op.values, Array.from(out)]))
        sent++
        submit(id, ts, op.values, clock.now, out)
        break
      }
      case "config": {
        const id = `s${op.sensor}`
        if (!resident(id)) break
        const patch = PATCHES[op.patch]!
        store.configs.set(id, patch)
        const cfg = configOf(patch)
        const r = refOf(id)
        const carried = carryRuleStates(r.cfg.rules, r.rules, cfg.rules, clock.now)
        for (const s of carried.signals) push(expected.signals, id, { ...s, sensor: id, receivedAt: clock.now })
        r.cfg = cfg
        r.rules = carried.states
        applyConfig(r.core, cfg)
        host.withSensor(id, (a) => {
          if (a instanceof SensorActor) host.configure(a, cfg)
          else failures.push(`${id}: configure failed ${a._tag}`)
        })
        break
      }
      case "forget": {
        const id = `s${op.sensor}`
        if (pendingLoad(id) || !refs.has(id)) break
        const r = refs.get(id)!
        for (const s of carryRuleStates(r.cfg.rules, r.rules, [], clock.now).signals) push(expected.signals, id, { ...s, sensor: id, receivedAt: clock.now })
        host.forget(id)
        store.forget(id)
        refs.delete(id)
        lastTs.delete(id)
        break
      }
      case "read": {
        const id = `s${op.sensor}`
        if (!refs.has(id)) break
        const want = comparable(toStateView(id, refs.get(id)!.core))
        host.withSensor(id, (a) => {
          // A read waiting for a load when the host closes is told the shard moved (the caller asks again).
          if (!(a instanceof SensorActor)) {
            if (a._tag !== "Moved") failures.push(`${id}: read failed ${a._tag}`)
          }
          else if (JSON.stringify(comparable(toStateView(id, a.core))) !== JSON.stringify(want)) failures.push(`${id}: read a state one core does not have`)
        })
        break
      }
      case "loads":
        store.completeLoads()
        break
      case "commit":
        store.commit()
        break
      case "sweep":
        clock.now += op.advanceMs
        host.sweep()
        break
      case "reopen": {
        host.close()
        store.commit()
        host = new ShardHost(1, ports)
        for (const resend of moved.splice(0)) resend()
        break
      }
    }
  }
  // Let everything settle: loads (a reload may queue another), then the last commit.
  for (let i = 0; i < 4; i++) {
    store.completeLoads()
    store.commit()
  }
  host.close()
  store.commit()
  return { store, refs, seen, expected, failures, answered, sent }
}

describe("ShardHost", () => {
  it("decides exactly what one sensor core per sensor decides, whatever the interleaving", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const { store, refs, seen, expected, failures, answered, sent } = run(ops)
        expect(failures).toEqual([])
        expect(answered).toBe(sent)
        for (const [id, r] of refs) {
          expect(seen.transitions.get(id) ?? []).toEqual(expected.transitions.get(id) ?? [])
          expect(seen.signals.get(id) ?? []).toEqual(expected.signals.get(id) ?? [])
          expect(seen.live.get(id) ?? []).toEqual(expected.live.get(id) ?? [])
          const stored = store.snapshots.get(store.keyOf(id))
          if (stored === undefined) continue
          const parsed = JSON.parse(stored) as { rules: unknown }
          expect(comparable(parsed)).toEqual(comparable({ ...JSON.parse(JSON.stringify(toSnapshot(r.core))), rules: ruleStatesToJson(r.cfg.rules, r.rules) }))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("keeps a sensor's batches in arrival order while its snapshot loads", () => {
    const { seen, failures } = run([
      { k: "batch", sensor: 0, values: [1, 2], gaps: [1, 1, 1, 1, 1, 1] },
      { k: "batch", sensor: 0, values: [3], gaps: [1, 1, 1, 1, 1, 1] },
      { k: "batch", sensor: 0, values: [4], gaps: [-5, 1, 1, 1, 1, 1] },
      { k: "loads" }
    ])
    expect(failures).toEqual([])
    expect(seen.live.get("s0")?.map((l) => JSON.parse(l)[1])).toEqual([[1, 2], [3]])
  })

  it("evicts an idle sensor only after its snapshot commits, and a batch during the eviction keeps it in memory", () => {
    const store = new Store()
    const clock = { now: 1_000 }
    const seen: Observed = { transitions: new Map(), signals: new Map(), live: new Map() }
    const host = new ShardHost(1, makePorts(store, clock, seen))
    const codes: Array<number> = []
    const sink: BatchSink<number> = { decided: (_s, c) => codes.push(...c), failed: () => codes.push(NaN) }
    host.record(storedInternalId("a"), [1], [10], clock.now, false, sink, 0)
    store.completeLoads()
    store.commit()
    expect(host.size).toBe(1)
    clock.now += 2_000
    host.sweep()
    // The eviction waits for the commit of everything pending; a batch comes first.
    host.record(storedInternalId("a"), [2], [11], clock.now, false, sink, 0)
    store.commit()
    expect(host.size).toBe(1)
    // Decided from memory: the stored snapshot is older than ts 2, yet ts 2 is a duplicate now.
    host.record(storedInternalId("a"), [2], [11], clock.now, false, sink, 0)
    expect(codes).toEqual([0, 0, -3])
    clock.now += 2_000
    host.sweep()
    expect(host.size).toBe(1)
    store.commit()
    expect(host.size).toBe(0)
    // Restored from what committed: the duplicate is still recognised.
    host.record(storedInternalId("a"), [2], [11], clock.now, false, sink, 0)
    store.completeLoads()
    expect(codes.at(-1)).toBe(-3)
  })

  it("one sensor's failing step drops that sensor only", () => {
    const store = new Store()
    const clock = { now: 1_000 }
    const seen: Observed = { transitions: new Map(), signals: new Map(), live: new Map() }
    const host = new ShardHost(1, makePorts(store, clock, seen))
    const outcomes: Array<string> = []
    const sink: BatchSink<number> = { decided: (_s, c) => outcomes.push(`ok ${c[0]}`), failed: (_s, f) => outcomes.push(f._tag) }
    host.record(storedInternalId("good"), [1], [1], clock.now, false, sink, 0)
    host.record(storedInternalId("bad"), [1], [1], clock.now, false, sink, 0)
    store.completeLoads()
    host.withSensor("bad", (a) => {
      if (a instanceof SensorActor) (a.core as { window: unknown }).window = null
    })
    host.record(storedInternalId("bad"), [2], [2], clock.now, false, sink, 0)
    host.record(storedInternalId("good"), [2], [2], clock.now, false, sink, 0)
    expect(outcomes).toEqual(["ok 0", "ok 0", "Unavailable", "ok 0"])
    expect(host.size).toBe(1)
  })
})
