import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { RejectCode } from "../../src/core/classify.js"
import { applyConfig, createSensorCore, fromSnapshot, MAX_TRANSITIONS, replayStored, type SensorCore, type SensorSnapshot, stepBatch, toSnapshot } from "../../src/core/sensor-core.js"
import { defaultCoreConfig } from "../../src/domain/sensor-settings.js"
import { windowContainsTs, windowCount, windowMax, windowMin } from "../../src/core/sliding-window.js"
import type { CoreConfig } from "../../src/domain/sensor-settings.js"
import { SuspectFlag } from "../../src/domain/reasons.js"
import { DEFAULT_WINDOW_SIZE } from "../../src/storage/sensor-activation.js"

const cfg = (patch: Partial<CoreConfig> = {}): CoreConfig => ({ ...defaultCoreConfig, ...patch })

/** Steps one batch and answers the codes. */
const step = (core: SensorCore, c: CoreConfig, pairs: ReadonlyArray<readonly [number, number]>, receivedAt = 1_000) => {
  const out = new Int32Array(pairs.length)
  const transitions = stepBatch(core, c, { ts: pairs.map((p) => p[0]), value: pairs.map((p) => p[1]), length: pairs.length }, receivedAt, out)
  return { codes: Array.from(out), transitions }
}
const series = (from: number, n: number, value: (i: number) => number = () => 1): Array<readonly [number, number]> =>
  Array.from({ length: n }, (_, i) => [from + i, value(i)] as const)

describe("sensor core", () => {
  it("has generous production defaults", () => {
    expect(defaultCoreConfig).toEqual({
      windowSize: 60,
      windowMs: 0,
      hardMin: null,
      hardMax: null,
      softMin: null,
      softMax: null,
      spikeSigma: 6,
      spikeMinSamples: 10,
      maxRatePerSecond: null,
      stuckCount: 0,
      allowedSkewMs: 0,
      throttleRate: 100,
      throttleBurst: 1000,
      degradedRatio: 0.3,
      faultInvalidCount: 10,
      rules: []
    })
  })

  it("starts unknown with zero counters", () => {
    const core = createSensorCore(cfg(), 42)
    expect(core.status).toBe("unknown")
    expect(core.statusSince).toBe(42)
    expect(core.counters).toEqual({ accepted: 0, suspect: 0, rejected: { invalid: 0, out_of_order: 0, duplicate: 0, throttled: 0 } })
    expect(core.lastAcceptedTs).toBeNull()
    expect(core.version).toBe(0)
  })

  it("first accepted reading makes it online, reported once with the batch's receipt time", () => {
    const core = createSensorCore(cfg(), 0)
    const { codes, transitions } = step(core, cfg(), [[1, 5], [2, 6]], 777)
    expect(codes).toEqual([0, 0])
    expect(transitions).toEqual([{ from: "unknown", to: "online", at: 777, reason: "first reading" }])
    expect(core.status).toBe("online")
    expect(core.statusSince).toBe(777)
    expect(core.statusReason).toBe("first reading")
    expect(core.lastAcceptedTs).toBe(2)
    expect(core.lastValue).toBe(6)
    expect(core.version).toBe(1)
  })

  it("returns one shared frozen empty array when nothing changed", () => {
    const core = createSensorCore(cfg(), 0)
    step(core, cfg(), [[1, 1]])
    const a = step(core, cfg(), [[2, 1]]).transitions
    const b = step(core, cfg(), [[3, 1]]).transitions
    expect(a).toEqual([])
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
  })

  it("an empty batch changes nothing, not even the version", () => {
    const core = createSensorCore(cfg(), 0)
    expect(step(core, cfg(), []).codes).toEqual([])
    expect(core.version).toBe(0)
  })

  it("rejects and counts invalid, out of order and duplicate readings", () => {
    const c = cfg({ hardMax: 100 })
    const core = createSensorCore(c, 0)
    const { codes } = step(core, c, [[10, 1], [11, Number.NaN], [12, 101], [5, 1], [11, 2], [10, 3], [12, 4]])
    // [10, 3] resends the first reading's ts: a duplicate, though older than the last accepted.
    expect(codes).toEqual([0, RejectCode.invalid, RejectCode.invalid, RejectCode.out_of_order, 0, RejectCode.duplicate, 0])
    const dup = step(core, c, [[12, 9]]).codes
    expect(dup).toEqual([RejectCode.duplicate])
    expect(core.counters).toEqual({ accepted: 3, suspect: 0, rejected: { invalid: 2, out_of_order: 1, duplicate: 2, throttled: 0 } })
  })

  it("duplicates within the skew are caught through the window", () => {
    const c = cfg({ allowedSkewMs: 100 })
    const core = createSensorCore(c, 0)
    expect(step(core, c, [[1000, 1], [1050, 2], [1000, 3], [990, 4], [1049, 5], [899, 6]]).codes).toEqual([
      0,
      0,
      RejectCode.duplicate,
      0,
      0,
      RejectCode.out_of_order
    ])
    expect(core.lastAcceptedTs).toBe(1050)
    expect(core.lastValue).toBe(5)
  })

  it("a reading without ts or value is invalid, still gets a code", () => {
    const core = createSensorCore(cfg(), 0)
    const out = new Int32Array(3)
    stepBatch(core, cfg(), { ts: new Float64Array([1]), value: new Float64Array([1, 2]), length: 3 }, 0, out)
    expect(Array.from(out)).toEqual([0, RejectCode.invalid, RejectCode.invalid])
  })

  it("throttles beyond the burst: every reading is answered, throttled ones touch nothing else", () => {
    const c = cfg({ throttleBurst: 3, throttleRate: 1, faultInvalidCount: 2 })
    const core = createSensorCore(c, 0)
    const { codes } = step(core, c, [[1, 1], [2, Number.NaN], [3, 1], [4, Number.NaN], [5, Number.NaN]], 0)
    expect(codes).toEqual([0, RejectCode.invalid, 0, RejectCode.throttled, RejectCode.throttled])
    expect(core.counters.rejected).toEqual({ invalid: 1, out_of_order: 0, duplicate: 0, throttled: 2 })
    expect(core.consecutiveInvalid).toBe(0)
    expect(core.consecutiveAccepted).toBe(1)
    expect(windowCount(core.window)).toBe(2)
    expect(windowContainsTs(core.window, 5)).toBe(false)
    expect(core.status).toBe("online")
    // One second later one token is back.
    expect(step(core, c, [[6, 1], [7, 1]], 1000).codes).toEqual([0, RejectCode.throttled])
  })

  it("goes to fault after consecutive invalid readings and recovers after 5 accepted", () => {
    const c = cfg({ faultInvalidCount: 3 })
    const core = createSensorCore(c, 0)
    step(core, c, [[1, 1]])
    const bad = step(core, c, [[2, Number.NaN], [3, Number.NaN], [4, Number.NaN]], 50)
    expect(bad.transitions).toEqual([{ from: "online", to: "fault", at: 50, reason: "3 consecutive invalid readings" }])
    const good = step(core, c, series(10, 5), 60)
    expect(good.transitions).toEqual([{ from: "fault", to: "online", at: 60, reason: "recovered" }])
    expect(core.transitions.map((t) => t.to)).toEqual(["online", "fault", "online"])
  })

  it("an interrupted run of invalid readings does not fault", () => {
    const c = cfg({ faultInvalidCount: 3 })
    const core = createSensorCore(c, 0)
    step(core, c, [[1, 1], [2, Number.NaN], [3, Number.NaN], [4, 1], [5, Number.NaN], [6, Number.NaN]])
    expect(core.status).toBe("online")
    expect(core.consecutiveInvalid).toBe(2)
  })

  it("degrades on a suspect share above the ratio and recovers below half of it", () => {
    const c = cfg({ softMax: 10, windowSize: 10 })
    const core = createSensorCore(c, 0)
    step(core, c, series(0, 7))
    const bad = step(core, c, series(100, 3, () => 50), 5)
    expect(bad.codes).toEqual([SuspectFlag.out_of_range, SuspectFlag.out_of_range, SuspectFlag.out_of_range])
    expect(core.status).toBe("online") // 3/10 is not > 30%
    expect(step(core, c, [[200, 50]], 6).transitions).toEqual([
      { from: "online", to: "degraded", at: 6, reason: "suspect share 40% > 30%" }
    ])
    // Pushing good readings evicts the old ones; at 20% suspect it is still degraded (hysteresis).
    expect(step(core, c, series(300, 8), 7).transitions).toEqual([])
    expect(core.status).toBe("degraded")
    expect(step(core, c, [[308, 1]], 8).transitions).toEqual([
      { from: "degraded", to: "online", at: 8, reason: "suspect share 10% <= 15%" }
    ])
    expect(core.counters.suspect).toBe(4)
  })

  it("tracks stuck runs of identical accepted values", () => {
    const c = cfg({ stuckCount: 3 })
    const core = createSensorCore(c, 0)
    expect(step(core, c, [[1, 4], [2, 4], [3, 4], [4, 4], [5, 5], [6, 5], [7, 5]]).codes).toEqual([
      0,
      0,
      SuspectFlag.stuck,
      SuspectFlag.stuck,
      0,
      0,
      SuspectFlag.stuck
    ])
    expect(core.stuckRun).toBe(3)
    // A rejected reading in between neither breaks nor extends the run.
    expect(step(core, c, [[8, Number.NaN], [9, 5]]).codes).toEqual([RejectCode.invalid, SuspectFlag.stuck])
  })

  it("keeps at most the last 20 transitions, newest last", () => {
    const c = cfg({ faultInvalidCount: 1 })
    const core = createSensorCore(c, 0)
    for (let i = 0; i < 30; i++) step(core, c, [[i * 10, Number.NaN], ...series(i * 10 + 1, 5)], i)
    expect(core.transitions).toHaveLength(MAX_TRANSITIONS)
    expect(core.transitions.at(-1)).toEqual({ from: "fault", to: "online", at: 29, reason: "recovered" })
  })

  it("applyConfig keeps the newest entries and clamps the bucket", () => {
    const c = cfg()
    const core = createSensorCore(c, 0)
    step(core, c, series(1, 10, (i) => i))
    const smaller = cfg({ windowSize: 3, throttleBurst: 2 })
    applyConfig(core, smaller)
    expect(windowCount(core.window)).toBe(3)
    expect(windowMin(core.window)).toBe(7)
    expect(windowMax(core.window)).toBe(9)
    expect(core.bucket.tokens).toBe(2)
    expect(step(core, smaller, series(20, 3), 1000).codes).toEqual([0, 0, RejectCode.throttled])
  })

  it("snapshot is JSON-safe and restores to an equal state", () => {
    const c = cfg({ softMax: 3, faultInvalidCount: 2 })
    const core = createSensorCore(c, 0)
    step(core, c, [[1, 1], [2, 5], [3, Number.NaN], [4, Number.NaN], ...series(10, 6)], 9)
    const snap: SensorSnapshot = JSON.parse(JSON.stringify(toSnapshot(core)))
    expect(snap).toEqual(toSnapshot(core))
    expect(toSnapshot(fromSnapshot(c, snap, 10))).toEqual(toSnapshot(core))
  })

  it("stores -0 as 0 so a JSON round trip restores the same state", () => {
    const core = createSensorCore(cfg(), 0)
    step(core, cfg(), [[-0, -0]])
    expect(Object.is(core.lastValue, 0)).toBe(true)
    expect(Object.is(core.lastAcceptedTs, 0)).toBe(true)
    expect(JSON.parse(JSON.stringify(toSnapshot(core)))).toEqual(toSnapshot(core))
  })

  it("restore tolerates a bucket saved ahead of this node's clock", () => {
    const core = createSensorCore(cfg({ throttleBurst: 1, throttleRate: 1 }), 5_000)
    const restored = fromSnapshot(cfg({ throttleBurst: 1, throttleRate: 1 }), toSnapshot(core), 1_000)
    expect(restored.bucket.last).toBe(1_000)
  })

  const reading = fc.tuple(
    fc.integer({ min: -30, max: 100 }),
    fc.oneof(fc.double({ min: -20, max: 120, noNaN: true }), fc.constantFrom(0, 1, 50, Number.NaN, 1e6))
  )
  const batches = fc.array(
    fc.record({ gap: fc.integer({ min: 0, max: 300 }), readings: fc.array(reading, { maxLength: 12 }) }),
    { maxLength: 40, size: "max" }
  )
  const configs = fc.record({
    windowSize: fc.integer({ min: 1, max: 30 }),
    windowMs: fc.constantFrom(0, 50, 500),
    hardMin: fc.constantFrom(null, -10),
    hardMax: fc.constantFrom(null, 100),
    softMin: fc.constantFrom(null, 0),
    softMax: fc.constantFrom(null, 60),
    spikeSigma: fc.constantFrom(0, 2.5, 6),
    spikeMinSamples: fc.integer({ min: 2, max: 10 }),
    maxRatePerSecond: fc.constantFrom(null, 500),
    stuckCount: fc.constantFrom(0, 2, 3),
    allowedSkewMs: fc.constantFrom(0, 20, 200),
    throttleRate: fc.constantFrom(5, 100),
    throttleBurst: fc.integer({ min: 1, max: 30 }),
    degradedRatio: fc.constantFrom(0, 0.2, 0.5),
    faultInvalidCount: fc.integer({ min: 1, max: 5 }),
    rules: fc.constant([])
  })

  /** Runs the batches, restoring from a JSON snapshot before batch `cut` when given. */
  const run = (c: CoreConfig, bs: ReadonlyArray<{ gap: number; readings: ReadonlyArray<readonly [number, number]> }>, cut: number | null) => {
    let core = createSensorCore(c, 0)
    let ts = 1_700_000_000_000
    let receivedAt = 0
    const codes: number[] = []
    const transitions: unknown[] = []
    bs.forEach((b, i) => {
      if (i === cut) core = fromSnapshot(c, JSON.parse(JSON.stringify(toSnapshot(core))), receivedAt)
      receivedAt += b.gap
      const pairs = b.readings.map(([dt, v]) => {
        ts += dt
        return [ts, v] as const
      })
      const r = step(core, c, pairs, receivedAt)
      codes.push(...r.codes)
      transitions.push(...r.transitions)
    })
    return { codes, transitions, snapshot: toSnapshot(core) }
  }

  it("property: snapshot, JSON round trip and restore mid-stream changes nothing", () => {
    fc.assert(
      fc.property(configs, batches, fc.nat(), (c, bs, cut) => {
        const whole = run(c, bs, null)
        const split = run(c, bs, cut % (bs.length + 1))
        expect(split.codes).toEqual(whole.codes)
        expect(split.transitions).toEqual(whole.transitions)
        expect(split.snapshot).toEqual(whole.snapshot)
      }),
      { numRuns: 300 }
    )
  })

  it("property: every reading gets exactly one code and the counters add up", () => {
    fc.assert(
      fc.property(configs, batches, (c, bs) => {
        const { codes, snapshot } = run(c, bs, null)
        expect(codes).toHaveLength(bs.reduce((n, b) => n + b.readings.length, 0))
        const { accepted, suspect, rejected } = snapshot.counters
        expect(accepted).toBe(codes.filter((x) => x >= 0).length)
        expect(suspect).toBe(codes.filter((x) => x > 0).length)
        expect(rejected.invalid).toBe(codes.filter((x) => x === RejectCode.invalid).length)
        expect(rejected.out_of_order).toBe(codes.filter((x) => x === RejectCode.out_of_order).length)
        expect(rejected.duplicate).toBe(codes.filter((x) => x === RejectCode.duplicate).length)
        expect(rejected.throttled).toBe(codes.filter((x) => x === RejectCode.throttled).length)
        expect(snapshot.transitions.length).toBeLessThanOrEqual(MAX_TRANSITIONS)
      }),
      { numRuns: 300 }
    )
  })
})

describe("replaying readings stored after the snapshot", () => {
  it("a restored sensor that replays what its killed predecessor committed answers resends as duplicates", () => {
    const c = cfg()
    const original = createSensorCore(c, 0)
    step(original, c, series(1_000, 5))
    const snapshot = toSnapshot(original)
    // Committed after the snapshot, then the node was killed: only PostgreSQL knows them.
    step(original, c, series(1_005, 3, (i) => 2 + i))
    const restored = fromSnapshot(c, snapshot, 2_000)
    expect(step(fromSnapshot(c, snapshot, 2_000), c, [[1_006, 3]]).codes).toEqual([0])
    const replayed = replayStored(restored, c, { ts: [1_005, 1_006, 1_007], value: [2, 3, 4], quality: [0, 0, SuspectFlag.spike], length: 3 })
    expect(replayed).toBe(3)
    expect(restored.lastAcceptedTs).toBe(1_007)
    expect(restored.counters.accepted).toBe(original.counters.accepted)
    expect(restored.counters.suspect).toBe(1)
    expect(restored.version).toBeGreaterThan(snapshot.version)
    expect(step(restored, c, [[1_006, 3], [1_003, 1], [1_007, 4]]).codes).toEqual([RejectCode.duplicate, RejectCode.duplicate, RejectCode.duplicate])
  })

  it("skips what the snapshot already covers and anything not finite", () => {
    const c = cfg()
    const core = createSensorCore(c, 0)
    step(core, c, series(1_000, 3))
    const before = core.version
    expect(replayStored(core, c, { ts: [1_001, 1_002, Number.NaN], value: [1, 1, 1], quality: [0, 0, 0], length: 3 })).toBe(0)
    expect(core.version).toBe(before)
  })

  it("fetches as many stored readings as the default window holds", () => {
    expect(DEFAULT_WINDOW_SIZE).toBe(defaultCoreConfig.windowSize)
  })
})
