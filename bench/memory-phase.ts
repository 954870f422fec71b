/**
 * Memory per resident sensor: a fresh node on the machine's PostgreSQL, 200 sensors warm, then N
 * more each activated by one reading (or, for the full-window row, by as many readings as the
 * default window holds), in two halves; heap used and RSS from the node's own /metrics before,
 * between and after, each a few seconds after the load and right after a full collection forced
 * through the node's inspector (bench/inspector-gc.ts), so that they count live data, not garbage.
 *
 * Two figures: from idle (after - before, over N) charges the sensors with everything the node grew
 * while taking their readings, including fixed costs such as the young generation growing to its
 * size under load (`--max-semi-space-size=64`: up to 128 MB, 1.3 KB per sensor at 100,000); the
 * marginal one (after - between, over N/2: both halves took the same traffic) is what one more
 * resident sensor costs a warm node, the figure that says how many sensors fit in a given memory.
 * The goal is checked on the marginal figure; both are printed.
 */
import { freePort } from "./child.js"
import { collectGarbage } from "./inspector-gc.js"
import { postReadings } from "./post-readings.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget } from "./targets.js"

export interface MemoryRow {
  readonly sensors: number
  /** Readings each sensor received: 1, or the default window size (a full window). */
  readonly readingsPerSensor: number
  /** From idle: (after - before) / N. */
  readonly heapPerSensorBytes: number
  readonly rssPerSensorBytes: number
  /** Marginal: (after - between) / (N / 2), the second half of the sensors on a node warmed by the first. */
  readonly marginalHeapPerSensorBytes: number
  readonly marginalRssPerSensorBytes: number
  readonly residentAfter: number
}

const metric = async (origin: string, name: string): Promise<number> => {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return Number(line?.split(" ")[1] ?? Number.NaN)
}

/** Heap used and RSS right after a full collection (two: the first may leave weakly held garbage for the second). */
const sample = async (origin: string, inspectPort: number) => {
  await collectGarbage(inspectPort)
  await collectGarbage(inspectPort)
  return {
    heap: await metric(origin, "flowmesh_nodejs_heap_size_used_bytes"),
    rss: await metric(origin, "flowmesh_process_resident_memory_bytes")
  }
}

/** Sensors `from`..`to`, `perSensor` readings each (1 s apart, varying values), ~100-1,000 readings per request, 8 in flight. */
const activate = async (origin: string, from: number, to: number, ts: number, perSensor = 1): Promise<void> => {
  const sensorsPerRequest = perSensor === 1 ? 100 : Math.max(1, Math.floor(1_000 / perSensor))
  const requests: Array<ReadonlyArray<{ sensor: string; ts: number; value: number }>> = []
  for (let i = from; i < to; i += sensorsPerRequest) {
    const readings: Array<{ sensor: string; ts: number; value: number }> = []
    for (let s = i; s < Math.min(to, i + sensorsPerRequest); s++) {
      for (let r = 0; r < perSensor; r++) readings.push({ sensor: `mem-${s}`, ts: ts + r * 1_000, value: (s % 97) + Math.sin(r) })
    }
    requests.push(readings)
  }
  let next = 0
  await Promise.all(
    Array.from({ length: perSensor === 1 ? 1 : 8 }, async () => {
      while (next < requests.length) await postReadings(origin, requests[next++]!)
    })
  )
}

const settle = () => new Promise((r) => setTimeout(r, SETTINGS.memory.settleMs))

/**
 * `n` sensors resident at once: the node gets a heap large enough to hold them and an idle time
 * longer than their activation, so that none passivates before the measurement.
 */
export const runMemoryPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void, n: number, perSensor = 1): Promise<MemoryRow> => {
  const inspectPort = await freePort()
  const target = await startTarget("external", {
    NODE_OPTIONS: `--max-old-space-size=${SETTINGS.memory.heapLimitMb} --inspect=127.0.0.1:${inspectPort}`,
    ENTITY_MAX_IDLE_MS: String(SETTINGS.memory.idleMs),
    // Activating 100,000 sensors stalls the event loop for seconds; with the default 1 s lock refresh
    // the node drops its shards (and every resident sensor) midway. One node: no failover to keep fast.
    CLUSTER_LOCK_REFRESH_MS: "3000",
    CLUSTER_LOCK_EXPIRATION_MS: "12000"
  })
  track(target)
  try {
    await activate(target.origin, 0, 200, Date.now() - 100_000)
    await settle()
    const before = await sample(target.origin, inspectPort)
    const half = Math.floor(n / 2)
    const from = Date.now() - 50_000 - perSensor * 1_000
    await activate(target.origin, 200, 200 + half, from, perSensor)
    await settle()
    const between = await sample(target.origin, inspectPort)
    await activate(target.origin, 200 + half, 200 + n, from, perSensor)
    await settle()
    const after = await sample(target.origin, inspectPort)
    const row: MemoryRow = {
      sensors: n,
      readingsPerSensor: perSensor,
      heapPerSensorBytes: (after.heap - before.heap) / n,
      rssPerSensorBytes: (after.rss - before.rss) / n,
      marginalHeapPerSensorBytes: (after.heap - between.heap) / (n - half),
      marginalRssPerSensorBytes: (after.rss - between.rss) / (n - half),
      residentAfter: await metric(target.origin, "flowmesh_active_sensors")
    }
    log(
      `    ${n.toLocaleString("en-US")} sensors resident${perSensor > 1 ? ` with full windows (${perSensor} readings each)` : ""}: ${(row.heapPerSensorBytes / 1024).toFixed(1)} KB heap, ` +
        `${(row.rssPerSensorBytes / 1024).toFixed(1)} KB RSS per sensor from idle; marginal ${(row.marginalHeapPerSensorBytes / 1024).toFixed(1)} KB heap, ` +
        `${(row.marginalRssPerSensorBytes / 1024).toFixed(1)} KB RSS (${row.residentAfter.toLocaleString("en-US")} resident)` +
        (row.residentAfter < n ? " -- NOT USABLE: fewer sensors resident than activated, the division is wrong" : "")
    )
    return row
  } finally {
    await target.stop()
    track(null)
  }
}
