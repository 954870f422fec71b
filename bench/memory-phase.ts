/**
 * Memory per resident sensor: a fresh node on the machine's PostgreSQL, 200 sensors warm, then N
 * more each activated by one reading; heap used and RSS from the node's own /metrics before and
 * after (a few seconds after, so the young generation has turned over), divided by N.
 */
import { postReadings } from "./post-readings.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget } from "./targets.js"

export interface MemoryRow {
  readonly sensors: number
  readonly heapPerSensorBytes: number
  readonly rssPerSensorBytes: number
  readonly residentAfter: number
}

const metric = async (origin: string, name: string): Promise<number> => {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return Number(line?.split(" ")[1] ?? Number.NaN)
}

const sample = async (origin: string) => ({
  heap: await metric(origin, "flowmesh_nodejs_heap_size_used_bytes"),
  rss: await metric(origin, "flowmesh_process_resident_memory_bytes")
})

const activate = async (origin: string, from: number, to: number, ts: number): Promise<void> => {
  for (let i = from; i < to; i += 100) {
    const readings = Array.from({ length: Math.min(100, to - i) }, (_, j) => ({ sensor: `mem-${i + j}`, ts, value: 1 }))
    await postReadings(origin, readings)
  }
}

const settle = () => new Promise((r) => setTimeout(r, SETTINGS.memory.settleMs))

/**
 * `n` sensors resident at once: the node gets a heap large enough to hold them and an idle time
 * longer than their activation, so that none passivates before the measurement.
 */
export const runMemoryPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void, n: number): Promise<MemoryRow> => {
  const target = await startTarget("external", {
    NODE_OPTIONS: `--max-old-space-size=${SETTINGS.memory.heapLimitMb}`,
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
    const before = await sample(target.origin)
    await activate(target.origin, 200, 200 + n, Date.now() - 50_000)
    await settle()
    const after = await sample(target.origin)
    const row: MemoryRow = {
      sensors: n,
      heapPerSensorBytes: (after.heap - before.heap) / n,
      rssPerSensorBytes: (after.rss - before.rss) / n,
      residentAfter: await metric(target.origin, "flowmesh_active_sensors")
    }
    log(
      `    ${n.toLocaleString("en-US")} sensors resident: ${(row.heapPerSensorBytes / 1024).toFixed(1)} KB heap, ` +
        `${(row.rssPerSensorBytes / 1024).toFixed(1)} KB RSS per sensor (${row.residentAfter.toLocaleString("en-US")} resident)` +
        (row.residentAfter < n ? " -- NOT USABLE: fewer sensors resident than activated, the division is wrong" : "")
    )
    return row
  } finally {
    await target.stop()
    track(null)
  }
}
