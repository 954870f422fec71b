import { Registry } from "prom-client"
import { describe, expect, it } from "vitest"
import { delayBetween } from "../../bench/loop-delay.js"
import { monitorEventLoopDelay } from "../../src/telemetry/event-loop-delay.js"

type Buckets = ReadonlyArray<readonly [number, number]>

const bucketsOf = async (registry: Registry): Promise<Buckets> => {
  const metric = await registry.getSingleMetric("flowmesh_event_loop_delay_seconds")?.get()
  return (metric?.values ?? [])
    .filter((v) => (v as { readonly metricName?: string }).metricName === "flowmesh_event_loop_delay_seconds_bucket")
    .map((v) => [v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le), v.value] as const)
}

const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // hold the event loop, as a long synchronous step would
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("event-loop delay histogram", () => {
  it("records a blocked event loop in the bucket of its length, and the bench reads p99 and max from it", async () => {
    const registry = new Registry()
    const stop = monitorEventLoopDelay(registry)
    try {
      await sleep(60)
      const before = await bucketsOf(registry)
      busy(150)
      await sleep(60)
      const after = await bucketsOf(registry)
      const delay = delayBetween(before, after)
      expect(delay.samples).toBeGreaterThanOrEqual(2)
      // The 150 ms stall lands in the (0.1, 0.25] bucket: max is its upper bound, exactly.
      expect(delay.maxMs).toBe(250)
      const over100 = after.find(([le]) => le === 0.1)
      const all = after.at(-1)
      expect((all?.[1] ?? 0) - (over100?.[1] ?? 0)).toBe(1)
    } finally {
      stop()
    }
  })

  it("interpolates p99 inside its bucket and reports max over the last bound as Infinity", () => {
    const before: Buckets = [
      [0.01, 0],
      [0.02, 0],
      [Number.POSITIVE_INFINITY, 0]
    ]
    const after: Buckets = [
      [0.01, 90],
      [0.02, 100],
      [Number.POSITIVE_INFINITY, 100]
    ]
    const d = delayBetween(before, after)
    expect(d.samples).toBe(100)
    expect(d.p99Ms).toBeCloseTo(19, 5)
    expect(d.maxMs).toBe(20)
    const stalled = delayBetween(before, [
      [0.01, 99],
      [0.02, 99],
      [Number.POSITIVE_INFINITY, 100]
    ])
    expect(stalled.maxMs).toBe(Number.POSITIVE_INFINITY)
  })
})
