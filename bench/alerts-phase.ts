/**
 * Alert latency and offline detection: a fresh node on the machine's PostgreSQL with 10,000 sensors
 * (100 sites x 100), each with a threshold rule, reporting once every few seconds (the pace of a
 * utility's telemetry). 1 % of them breach once each at random moments; the latency of each alert
 * is measured from the send time of the breaching reading to (a) the signed webhook arriving at a
 * local receiver and (b) the `alert` frame on a dashboard watching every alert. A few sensors with
 * an offline rule stop reporting; detection is measured from the moment they became overdue.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import WebSocket from "ws"
import { LatencyHistogram } from "./latency-histogram.js"
import { postReadings } from "./post-readings.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget, withClient } from "./targets.js"

export interface AlertRow {
  readonly sensors: number
  readonly readingsPerSec: number
  readonly breaches: number
  readonly webhook: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number }
  readonly ws: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number }
  readonly offline: {
    readonly sensors: number
    readonly afterSeconds: number
    readonly detected: number
    /** Raised before the sensor was overdue: a false alarm. */
    readonly premature: number
    readonly p50Ms: number
    readonly maxMs: number
  }
  /** The node's own histogram (edge receipt of the reading -> notifier committed the alert): share within 50 / 250 ms. */
  readonly nodeWithin50Ms: number
  readonly nodeWithin250Ms: number
}

/** Share of the node's alert latency histogram at or under `le` seconds. */
const nodeShare = (metrics: string, le: string): number => {
  const value = (name: string) => Number(metrics.split("\n").find((l) => l.startsWith(name))?.split(" ")[1] ?? Number.NaN)
  return value(`flowmesh_alert_latency_seconds_bucket{le="${le}"}`) / value("flowmesh_alert_latency_seconds_count")
}

const S = SETTINGS.alerts
const idOf = (i: number): string => `site-${Math.floor(i / 100)}/s-${i % 100}`
/** The first sensors of each period's round, so they report right after the warm-up. */
const isOffline = (i: number): boolean => i < S.offlineSensors

const rulesOf = (i: number) => [
  { id: "high", kind: "threshold", high: 100, deadband: 5, severity: "critical" },
  ...(isOffline(i) ? [{ id: "silent", kind: "offline", afterSeconds: S.offlineAfterSeconds }] : [])
]

const summary = (h: LatencyHistogram) => ({ count: h.count, p50Ms: h.quantile(0.5), p99Ms: h.quantile(0.99), maxMs: h.max })

export const runAlertPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<AlertRow> => {
  const target = await startTarget("external", {
    ALERT_STORM_PER_MINUTE: "1000000",
    ALERT_SWEEP_MS: String(S.sweepMs),
    // A sensor that went quiet during the warm-up may raise and clear once; its real silence must raise again.
    ALERT_COOLDOWN_MS: "1000"
  })
  track(target)
  const hookServer = createServer()
  let watcher: WebSocket | null = null
  try {
    await withClient(target.dbUrl, (c) =>
      c.query("insert into sensors (id, config) select x.id, x.config from jsonb_to_recordset($1::jsonb) as x(id text, config jsonb)", [
        JSON.stringify(Array.from({ length: S.sensors }, (_, i) => ({ id: idOf(i), config: { rules: rulesOf(i) } })))
      ])
    )
    const sentAt = new Map<string, number>()
    const webhook = new LatencyHistogram()
    const dashboard = new LatencyHistogram()
    const offline = new LatencyHistogram()
    const overdueAt = new Map<string, number>()
    const detected = new Set<string>()
    let premature = 0
    hookServer.on("request", (req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const now = performance.now()
        const n = JSON.parse(Buffer.concat(chunks).toString()) as { type: string; alert: { sensor: string; rule: string } | null }
        const sent = n.alert !== null && n.type === "alert.opened" && n.alert.rule === "high" ? sentAt.get(n.alert.sensor) : undefined
        if (sent !== undefined) webhook.record(now - sent)
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r))
    const port = (hookServer.address() as AddressInfo).port
    const put = await fetch(`${target.origin}/api/v1/webhooks/bench`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/`, secret: "bench-secret-0123456789" })
    })
    if (put.status !== 200) throw new Error(`webhook registration answered ${put.status}: ${await put.text()}`)
    const ws = new WebSocket(`${target.origin.replace(/^http/, "ws")}/ws/live`)
    watcher = ws
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    ws.on("message", (data) => {
      const now = performance.now()
      const f = JSON.parse(data.toString()) as { type: string; notification?: { type: string; alert: { sensor: string; rule: string } | null } }
      const a = f.type === "alert" && f.notification?.type === "alert.opened" ? f.notification.alert : null
      if (a === null || a === undefined) return
      if (a.rule === "high") {
        const sent = sentAt.get(a.sensor)
        if (sent !== undefined) dashboard.record(now - sent)
      } else if (a.rule === "silent") {
        const due = overdueAt.get(a.sensor)
        if (due === undefined || detected.has(a.sensor)) return
        detected.add(a.sensor)
        if (now < due) premature++
        else offline.record(now - due)
      }
    })
    ws.send(JSON.stringify({ type: "subscribe", alerts: true }))

    // Warm-up: every sensor activated once, with a normal value.
    // Recent enough that the offline rule does not fire before the load starts.
    const base = Date.now() - 1_000
    for (let i = S.offlineSensors; i < S.sensors; i += 500) {
      await postReadings(target.origin, Array.from({ length: Math.min(500, S.sensors - i) }, (_, j) => ({ sensor: idOf(i + j), ts: base, value: 50 })))
    }
    // The offline sensors report first right before the load, so they are not silent when it starts.
    await postReadings(target.origin, Array.from({ length: S.offlineSensors }, (_, i) => ({ sensor: idOf(i), ts: Date.now(), value: 50 })))

    // One slot per sensor per period; the breaching sensors (1 %) each breach once, at a random slot after the first period.
    const slots = S.sensors
    const tickMs = 100
    const perTick = Math.ceil((slots * tickMs) / S.periodMs)
    const ticks = Math.floor(S.durationMs / tickMs)
    const ticksPerPeriod = S.periodMs / tickMs
    const periods = Math.floor(ticks / ticksPerPeriod)
    const breachAt = new Map<number, string>()
    const chosen = new Set<number>()
    while (chosen.size < S.breaching && periods > 2) {
      const i = S.offlineSensors + Math.floor(Math.random() * (S.sensors - S.offlineSensors))
      if (chosen.has(i)) continue
      chosen.add(i)
      const period = 1 + Math.floor(Math.random() * (periods - 2))
      breachAt.set((period * ticksPerPeriod + Math.floor(i / perTick)) * slots + i, idOf(i))
    }
    const t0 = performance.now()
    let sent = 0
    const inflight: Array<Promise<void>> = []
    for (let tick = 0; tick < ticks; tick++) {
      const wait = t0 + tick * tickMs - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      const first = (tick % ticksPerPeriod) * perTick
      const readings: Array<{ sensor: string; ts: number; value: number }> = []
      let breached: Array<string> = []
      for (let i = first; i < Math.min(first + perTick, slots); i++) {
        // Offline sensors stop after the first period.
        if (isOffline(i) && tick >= ticksPerPeriod) continue
        const sensor = idOf(i)
        const breach = breachAt.get(tick * slots + i)
        readings.push({ sensor, ts: Date.now(), value: breach === undefined ? 50 + Math.random() * 10 : 150 })
        if (breach !== undefined) breached.push(sensor)
        if (isOffline(i)) overdueAt.set(sensor, performance.now() + S.effectiveOfflineSeconds * 1000)
      }
      for (let k = 0; k < readings.length; k += 100) {
        const now = performance.now()
        const chunk = readings.slice(k, k + 100)
        for (const r of chunk) if (breached.includes(r.sensor)) sentAt.set(r.sensor, now)
        inflight.push(postReadings(target.origin, chunk))
        sent += chunk.length
      }
      breached = []
      if (inflight.length > 64) await Promise.all(inflight.splice(0))
    }
    await Promise.all(inflight)
    const elapsed = (performance.now() - t0) / 1000
    // The last breaches and the offline sweeps still need their time.
    const deadline = performance.now() + S.drainMs
    while (performance.now() < deadline && (webhook.count < sentAt.size || dashboard.count < sentAt.size || offline.count < S.offlineSensors)) {
      await new Promise((r) => setTimeout(r, 100))
    }
    const metrics = await (await fetch(`${target.origin}/metrics`)).text()
    const row: AlertRow = {
      nodeWithin50Ms: nodeShare(metrics, "0.05"),
      nodeWithin250Ms: nodeShare(metrics, "0.25"),
      sensors: S.sensors,
      readingsPerSec: sent / elapsed,
      breaches: sentAt.size,
      webhook: summary(webhook),
      ws: summary(dashboard),
      offline: {
        sensors: S.offlineSensors,
        afterSeconds: S.effectiveOfflineSeconds,
        detected: offline.count,
        premature,
        p50Ms: offline.quantile(0.5),
        maxMs: offline.max
      }
    }
    log(
      `    ${row.breaches} breaches over ${S.sensors.toLocaleString("en-US")} sensors at ${Math.round(row.readingsPerSec).toLocaleString("en-US")} readings/s: ` +
        `webhook p50 ${row.webhook.p50Ms.toFixed(1)} / p99 ${row.webhook.p99Ms.toFixed(1)} ms (${row.webhook.count}), ` +
        `dashboard p50 ${row.ws.p50Ms.toFixed(1)} / p99 ${row.ws.p99Ms.toFixed(1)} ms (${row.ws.count}); ` +
        `node-side ${(row.nodeWithin50Ms * 100).toFixed(1)}% <= 50 ms, ${(row.nodeWithin250Ms * 100).toFixed(1)}% <= 250 ms; ` +
        `offline detected ${row.offline.detected}/${row.offline.sensors} (${premature} early), p50 ${(row.offline.p50Ms / 1000).toFixed(1)} s / max ${(row.offline.maxMs / 1000).toFixed(1)} s after overdue`
    )
    return row
  } finally {
    watcher?.close()
    hookServer.close()
    track(null)
    await target.stop()
  }
}
