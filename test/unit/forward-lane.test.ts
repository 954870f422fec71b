/**
 * A forwarding lane against a target in memory: it sends committed readings in batches while the
 * target is up, keeps them (bounded, the oldest dropped) while it is down, drops a failed batch, and
 * counts every reading that does not reach the target; offering never waits for the target.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { appConfig } from "../../src/config.js"
import { type BatchOutcome, makeLane, restAfter, type TargetDriver } from "../../src/forward/forward-lane.js"
import type { CommittedReadings } from "../../src/storage/write-buffer.js"
import { registry } from "../../src/telemetry/metrics.js"

const forwarded = async (outcome: "sent" | "dropped"): Promise<number> => {
  const metric = await registry.getSingleMetric("flowmesh_forward_readings_total")!.get()
  return metric.values.find((v) => v.labels.target === "redis" && v.labels.outcome === outcome)?.value ?? 0
}
const depth = async (): Promise<number> => {
  const metric = await registry.getSingleMetric("flowmesh_forward_queue_readings")!.get()
  return metric.values.find((v) => v.labels.target === "redis")?.value ?? 0
}

const readings = (from: number, n: number): CommittedReadings => ({
  sensors: Array.from({ length: n }, () => "s"),
  ts: Array.from({ length: n }, (_, i) => from + i),
  values: Array.from({ length: n }, (_, i) => from + i),
  quality: Array.from({ length: n }, () => 0)
})

/** A target in memory: `up` and `fail` are switched by the test; `got` holds what it took. */
const memoryTarget = () => {
  const state = { up: true, fail: false, busyMs: 0, got: [] as Array<number>, batches: [] as Array<number>, at: [] as Array<number> }
  const driver: TargetDriver = {
    name: "redis",
    where: "memory",
    ready: () => state.up,
    send: (queue, max) =>
      Effect.sync((): BatchOutcome => {
        const batch: Array<number> = []
        const n = queue.drain(max, (_s, ts) => batch.push(ts))
        state.batches.push(n)
        state.at.push(performance.now())
        if (state.fail) return { sent: 0, failed: n, error: "refused", busyMs: state.busyMs }
        state.got.push(...batch)
        return { sent: n, failed: 0, error: null, busyMs: state.busyMs }
      })
  }
  return { state, driver }
}

const until = (check: () => boolean) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 5_000
    while (!check()) {
      if (Date.now() > deadline) throw new Error("timed out")
      yield* Effect.sleep("5 millis")
    }
  })

const settings = Effect.map(appConfig, (c) => ({ ...c.forward, queueReadings: 100, batchReadings: 40, retryMs: 20, drainTimeoutMs: 200 }))

describe("forwarding lane", () => {
  it("rests after a batch in proportion to the event loop time it took, to stay within its share", () => {
    expect(restAfter(1, 0.05)).toBeCloseTo(19)
    expect(restAfter(10, 0.5)).toBe(10)
    expect(restAfter(3, 1)).toBe(0)
    expect(restAfter(0, 0.05)).toBe(0)
  })

  it.live("takes at most FORWARD_MAX_LOOP_SHARE of the event loop: batches that hold it are spaced out", () =>
    Effect.gen(function* () {
      const { state, driver } = memoryTarget()
      state.busyMs = 10 // each batch said to hold the loop 10 ms: at a share of 0.25, 30 ms of rest after it
      const lane = yield* makeLane(driver, { ...(yield* settings), batchReadings: 10, maxLoopShare: 0.25 })
      lane.offer(readings(0, 40), [])
      yield* until(() => state.got.length === 40)
      const gaps = state.at.slice(1).map((t, i) => t - state.at[i]!)
      expect(gaps).toHaveLength(3)
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(29)
    }).pipe(Effect.scoped)
  )

  it.live("sends committed readings in batches of at most FORWARD_BATCH_READINGS, in order", () =>
    Effect.gen(function* () {
      const { state, driver } = memoryTarget()
      const sentBefore = yield* Effect.promise(() => forwarded("sent"))
      const lane = yield* makeLane(driver, yield* settings)
      lane.offer(readings(0, 90), [])
      yield* until(() => state.got.length === 90)
      expect(state.got).toEqual(Array.from({ length: 90 }, (_, i) => i))
      expect(Math.max(...state.batches)).toBeLessThanOrEqual(40)
      expect((yield* Effect.promise(() => forwarded("sent"))) - sentBefore).toBe(90)
    }).pipe(Effect.scoped)
  )

  it.live("while the target is down, keeps the newest FORWARD_QUEUE_READINGS and counts the oldest as dropped; sends them when it is back", () =>
    Effect.gen(function* () {
      const { state, driver } = memoryTarget()
      state.up = false
      const droppedBefore = yield* Effect.promise(() => forwarded("dropped"))
      const lane = yield* makeLane(driver, yield* settings)
      const started = performance.now()
      for (let b = 0; b < 5; b++) lane.offer(readings(b * 50, 50), [])
      // Offering never waits for the target.
      expect(performance.now() - started).toBeLessThan(50)
      expect(yield* Effect.promise(depth)).toBe(100)
      expect((yield* Effect.promise(() => forwarded("dropped"))) - droppedBefore).toBe(150)
      state.up = true
      yield* until(() => state.got.length === 100)
      expect(state.got).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i))
      expect(yield* Effect.promise(depth)).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.live("a batch the target refuses is dropped and counted, not sent again; the next ones go through", () =>
    Effect.gen(function* () {
      const { state, driver } = memoryTarget()
      state.fail = true
      const droppedBefore = yield* Effect.promise(() => forwarded("dropped"))
      const lane = yield* makeLane(driver, yield* settings)
      lane.offer(readings(0, 10), [])
      yield* until(() => state.batches.length === 1)
      state.fail = false
      lane.offer(readings(10, 5), [])
      yield* until(() => state.got.length === 5)
      expect(state.got).toEqual([10, 11, 12, 13, 14])
      expect((yield* Effect.promise(() => forwarded("dropped"))) - droppedBefore).toBe(10)
    }).pipe(Effect.scoped)
  )

  it.live("on shutdown sends what it holds while the target is up, and drops (and counts) what a down target cannot take", () =>
    Effect.gen(function* () {
      const up = memoryTarget()
      const scope = yield* Scope.make()
      const lane = yield* makeLane(up.driver, yield* settings).pipe(Scope.extend(scope))
      up.state.up = false
      lane.offer(readings(0, 30), [])
      up.state.up = true
      yield* Scope.close(scope, Exit.void)
      expect(up.state.got).toHaveLength(30)

      const down = memoryTarget()
      down.state.up = false
      const droppedBefore = yield* Effect.promise(() => forwarded("dropped"))
      const scope2 = yield* Scope.make()
      const lane2 = yield* makeLane(down.driver, yield* settings).pipe(Scope.extend(scope2))
      lane2.offer(readings(0, 30), [])
      const started = Date.now()
      yield* Scope.close(scope2, Exit.void)
      expect(Date.now() - started).toBeLessThan(1_000)
      expect((yield* Effect.promise(() => forwarded("dropped"))) - droppedBefore).toBe(30)
    })
  )
})
