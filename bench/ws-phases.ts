/**
 * The WebSocket rows of the bench, on the machine's PostgreSQL: device connections streaming 1, 10
 * and 100 readings per frame (coalescing on, the default), one reading per frame with coalescing
 * off (per-frame), and live latency from ingest to dashboards at BENCH_LIVE_RATE (1,000 readings/s).
 * Every phase ends with every frame answered; the check compares durable acks with stored rows.
 */
import * as os from "node:os"
import { type CpuShare, withCpu } from "./cpu.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, queryOne, startTarget } from "./targets.js"
import { closedLoopDevices, connectDashboards, connectDevices, type DeviceTally, pacedDevices } from "./ws-load.js"

export interface WsDeviceRow {
  readonly phase: string
  readonly perFrame: number
  readonly inFlight: number
  readonly coalescing: boolean
  readonly readingsPerSec: number
  readonly framesPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly problems: string
  readonly cpu: CpuShare
}

export interface LiveRow {
  readonly ingestReadingsPerSec: number
  readonly dashboards: number
  readonly deliveredPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** From the node's own histogram (edge receipt to frame written), bucket upper bound. */
  readonly nodeP99Ms: number
  readonly lagged: number
  readonly cpu: CpuShare
}

export interface WsRun {
  readonly devices: ReadonlyArray<WsDeviceRow>
  readonly live: LiveRow | null
  readonly acknowledgedDurable: number
  readonly stored: number
  readonly lost: number
}

const cfg = SETTINGS.ws
/** `count` bench sensor ids under a prefix: `prefix0000`, `prefix0001`, ... */
export const sensorIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`)
const sensorsFor = (prefix: string) => sensorIds(prefix, cfg.connections)

/** Lifts the per-sensor throttle (100/s by default) so the bench measures the node, not the throttle. */
export const liftThrottle = async (origin: string, sensors: ReadonlyArray<string>) => {
  for (let i = 0; i < sensors.length; i += 50) {
    await Promise.all(
      sensors.slice(i, i + 50).map(async (s) => {
        // A 503 (a shard still finding its owner while a cluster starts) is retried as a client would, after Retry-After.
        for (let attempt = 1; ; attempt++) {
          const r = await fetch(`${origin}/api/v1/sensors/${encodeURIComponent(s)}`, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ throttleRate: 100_000, throttleBurst: 100_000 })
          })
          if (r.status < 300) return
          const text = await r.text()
          if (r.status !== 503 || attempt >= 30) throw new Error(`PUT ${s}: ${r.status} ${text}`)
          await new Promise((done) => setTimeout(done, 1000 * Number(r.headers.get("retry-after") ?? 1)))
        }
      })
    )
  }
}

/** The node's live latency histogram: cumulative count per bucket upper bound (ms). */
const liveBuckets = async (origin: string): Promise<Array<[number, number]>> => {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const out: Array<[number, number]> = []
  for (const line of text.split("\n")) {
    const m = /^flowmesh_live_latency_seconds_bucket\{le="([^"]+)"\} (\S+)$/.exec(line)
    if (m !== null) out.push([m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]) * 1000, Number(m[2])])
  }
  return out
}

const bucketQuantile = (before: Array<[number, number]>, after: Array<[number, number]>, q: number): number => {
  const total = (after.at(-1)?.[1] ?? 0) - (before.at(-1)?.[1] ?? 0)
  for (let i = 0; i < after.length; i++) {
    const [le, n] = after[i]!
    if (n - (before[i]?.[1] ?? 0) >= q * total) return le
  }
  return Number.NaN
}

const problemsOf = (t: DeviceTally) =>
  [...Object.entries(t.errors), ...Object.entries(t.rejected)].map(([k, v]) => `${k} x${v}`).join(", ") || "none"

const storedFor = async (target: NodeTarget, prefixes: ReadonlyArray<string>) => {
  let n = 0
  for (const p of prefixes) {
    const row = await queryOne(target.dbUrl, "select count(*)::int8 as n from readings where sensor_key in (select key from sensors where starts_with(id, $1))", [p])
    n += Number(row.n)
  }
  return n
}

const devicePhase = async (target: NodeTarget, shape: { readonly perFrame: number; readonly inFlight: number }, coalescing: boolean, log: (l: string) => void) => {
  const { perFrame, inFlight } = shape
  const prefix = `ws${coalescing ? "" : "f"}${perFrame}x${inFlight}-`
  const sensors = sensorsFor(prefix)
  await liftThrottle(target.origin, sensors)
  const url = `${target.origin.replace("http", "ws")}/ws/devices?ack=durable`
  const fleet = await connectDevices(url, sensors, perFrame)
  const { result, cpu } = await withCpu(target.child.pid, os.cpus().length, () =>
    closedLoopDevices(fleet, inFlight, cfg.warmupMs, cfg.durationMs)
  )
  fleet.close()
  const { tally, elapsedMs } = result
  const row: WsDeviceRow = {
    phase: `ws ${perFrame}/frame, ${inFlight} in flight${coalescing ? "" : ", per-frame"}`,
    perFrame,
    inFlight,
    coalescing,
    readingsPerSec: (tally.acceptedDurable * 1000) / elapsedMs,
    framesPerSec: (tally.acks * 1000) / elapsedMs,
    p50Ms: tally.latency.quantile(0.5),
    p99Ms: tally.latency.quantile(0.99),
    problems: problemsOf(tally),
    cpu
  }
  log(`    ${row.phase}: ${Math.round(row.readingsPerSec).toLocaleString("en-US")} readings/s durable, p50/p99 ${row.p50Ms.toFixed(1)}/${row.p99Ms.toFixed(1)} ms, problems: ${row.problems}`)
  return { row, durable: tally.allDurable, prefix }
}

const livePhase = async (target: NodeTarget, rate: number, log: (l: string) => void) => {
  const sensors = sensorsFor("live-")
  await liftThrottle(target.origin, sensors)
  // 20 groups of 50 sensors; dashboard d watches group d % 20, so each sensor has 10 watchers.
  const groups = cfg.connections / cfg.sensorsPerDashboard
  const subscriptions = Array.from({ length: cfg.dashboards }, (_, d) => {
    const g = d % groups
    return sensors.slice(g * cfg.sensorsPerDashboard, (g + 1) * cfg.sensorsPerDashboard)
  })
  const dashboards = await connectDashboards(`${target.origin.replace("http", "ws")}/ws/live`, subscriptions)
  const fleet = await connectDevices(`${target.origin.replace("http", "ws")}/ws/devices?ack=durable`, sensors, 1)
  // Warm-up: every sensor's actor starts (loads its row) before latency counts.
  const warm = await pacedDevices(fleet, rate, cfg.warmupMs)
  dashboards.latency.reset()
  dashboards.readings = 0
  dashboards.lagged = 0
  const before = await liveBuckets(target.origin)
  const { result: tally, cpu } = await withCpu(target.child.pid, os.cpus().length, () => pacedDevices(fleet, rate, cfg.liveDurationMs))
  const after = await liveBuckets(target.origin)
  await new Promise((r) => setTimeout(r, 200))
  fleet.close()
  dashboards.close()
  const row: LiveRow = {
    ingestReadingsPerSec: (tally.acceptedDurable * 1000) / cfg.liveDurationMs,
    dashboards: cfg.dashboards,
    deliveredPerSec: (dashboards.readings * 1000) / cfg.liveDurationMs,
    p50Ms: dashboards.latency.quantile(0.5),
    p99Ms: dashboards.latency.quantile(0.99),
    maxMs: dashboards.latency.max,
    nodeP99Ms: bucketQuantile(before, after, 0.99),
    lagged: dashboards.lagged,
    cpu
  }
  log(
    `    live: ${Math.round(row.ingestReadingsPerSec).toLocaleString("en-US")} readings/s in, ${Math.round(row.deliveredPerSec).toLocaleString("en-US")}/s delivered to ${row.dashboards} dashboards, ` +
      `p50/p99/max ${row.p50Ms.toFixed(1)}/${row.p99Ms.toFixed(1)}/${row.maxMs.toFixed(0)} ms (node-side p99 <= ${row.nodeP99Ms} ms), lagged ${row.lagged}, problems: ${problemsOf(tally)}`
  )
  return { row, durable: warm.allDurable + tally.allDurable }
}

export const runWsPhases = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<WsRun> => {
  const devices: Array<WsDeviceRow> = []
  let acknowledgedDurable = 0
  let stored = 0
  let live: LiveRow | null = null

  log("  node with coalescing off (COALESCE_WINDOW_MS=0): one gateway call per frame")
  const perFrameNode = await startTarget("external", { COALESCE_WINDOW_MS: "0" })
  track(perFrameNode)
  try {
    const { row, durable, prefix } = await devicePhase(perFrameNode, cfg.perFramePhase, false, log)
    devices.push(row)
    acknowledgedDurable += durable
    stored += await storedFor(perFrameNode, [prefix])
  } finally {
    await perFrameNode.stop()
    track(null)
  }

  log(`  node with coalescing on (the default), ${cfg.connections} device connections`)
  const coalesced = await startTarget("external")
  track(coalesced)
  try {
    const prefixes: Array<string> = ["live-"]
    for (const shape of cfg.devicePhases) {
      const { row, durable, prefix } = await devicePhase(coalesced, shape, true, log)
      devices.unshift(row)
      prefixes.push(prefix)
      acknowledgedDurable += durable
    }
    // Live latency at issue 15's rate (1,000 readings/s, 10 watchers per sensor): the paced devices
    // send one reading per frame at 1-2 readings/s per sensor, too sparse to coalesce.
    const liveRun = await livePhase(coalesced, SETTINGS.ws.liveRate, log)
    live = liveRun.row
    acknowledgedDurable += liveRun.durable
    stored += await storedFor(coalesced, prefixes)
  } finally {
    await coalesced.stop()
    track(null)
  }
  devices.sort((a, b) => Number(b.coalescing) - Number(a.coalescing) || a.perFrame - b.perFrame || a.inFlight - b.inFlight)
  return { devices, live, acknowledgedDurable, stored, lost: Math.max(0, acknowledgedDurable - stored) }
}
