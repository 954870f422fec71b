/**
 * The scenarios, the same as the k6 scripts in `load/`: HTTP ingest, WebSocket devices,
 * dashboards' live latency, and all of them together with history queries; plus MQTT devices
 * (driver only: mqtt.ts). Each returns one summary per part; every loop is bounded by the arrival
 * count (the duration, for MQTT's closed loop) and the drain time.
 */
import WebSocket from "ws"
import { ackOutcome, ingestOutcome, laggedCount, liveLatencies } from "../lib/answers.js"
import { deviceFrame, subscribeFrame } from "../lib/bodies.js"
import type { LoadOptions } from "./args.js"
import { runArrivals } from "./arrival.js"
import { errorCode, get, makePool, post } from "./http-client.js"
import { runMqtt } from "./mqtt.js"
import { Recorder, type RecorderSummary } from "./recorder.js"
import { GroupLeases, Traffic } from "./traffic.js"

export interface ScenarioReport {
  readonly scenario: LoadOptions["scenario"]
  readonly rate: number
  readonly parts: ReadonlyArray<RecorderSummary>
  /** Readings acknowledged as durable, to compare with what PostgreSQL holds for ids under `prefix`. */
  readonly durableReadings: number
  readonly prefix: string
}

const DRAIN_MS = 15_000
const wsUrl = (url: string, path: string) => url.replace(/^http/, "ws") + path

const ingestHttp = async (o: LoadOptions, traffic: Traffic, rate: number, batch: number, label: string): Promise<RecorderSummary> => {
  const recorder = new Recorder(label)
  const pool = makePool(new URL(o.url).origin, Math.min(o.maxInFlight, 256))
  const path = `/api/v1/readings?ack=${o.ack}`
  const perSensor = Math.min(batch, o.perSensor)
  const leases = new GroupLeases(Math.floor(traffic.sensors / Math.ceil(batch / perSensor)))
  try {
    await runArrivals({
      ratePerSec: rate,
      durationMs: o.durationMs,
      maxInFlight: o.maxInFlight,
      drainMs: DRAIN_MS,
      recorder,
      fire: async (_, intendedAt) => {
        const group = leases.lease()
        if (group === null) {
          recorder.recordError("no_idle_sensor_group", performance.now())
          return
        }
        try {
          const answer = await post(pool, path, traffic.batch(group, batch, perSensor))
          const out = ingestOutcome(answer.status, answer.text)
          const now = performance.now()
          if (!out.ok) {
            recorder.recordError(out.error ?? `http_${answer.status}`, now, out.overloaded)
            return
          }
          recorder.recordOk(intendedAt, now, { accepted: out.accepted, durable: out.durable ? out.accepted : 0 })
          for (const [reason, n] of Object.entries(out.rejected)) recorder.recordRejected(reason, n)
        } catch (e) {
          recorder.recordError(errorCode(e), performance.now())
        } finally {
          leases.release(group)
        }
      }
    })
  } finally {
    recorder.end()
    await pool.close()
  }
  return recorder.summary()
}

const open = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once("open", () => resolve(ws))
    ws.once("error", reject)
  })

interface Device {
  readonly ws: WebSocket
  seq: number
  readonly waiting: Map<number, { readonly intendedAt: number; readonly done: () => void }>
}

const ingestWs = async (o: LoadOptions, traffic: Traffic, rate: number, label: string): Promise<RecorderSummary> => {
  const recorder = new Recorder(label)
  const devices: Array<Device> = []
  try {
    for (let d = 0; d < o.devices; d++) {
      const device: Device = { ws: await open(wsUrl(o.url, `/ws/devices?ack=${o.ack}`)), seq: 0, waiting: new Map() }
      device.ws.on("message", (data) => {
        const now = performance.now()
        const a = ackOutcome(data.toString())
        if (a.seq === null) return
        const w = device.waiting.get(a.seq)
        if (w === undefined) return
        device.waiting.delete(a.seq)
        if (a.kind === "ack") {
          recorder.recordOk(w.intendedAt, now, { accepted: a.accepted, durable: a.durable ? a.accepted : 0 })
          for (const [reason, n] of Object.entries(a.rejected)) recorder.recordRejected(reason, n)
        } else recorder.recordError(a.code ?? "error_frame", now, a.retryAfterMs !== null)
        w.done()
      })
      device.ws.on("close", () => {
        for (const w of device.waiting.values()) {
          recorder.recordError("closed", performance.now())
          w.done()
        }
        device.waiting.clear()
      })
      devices.push(device)
    }
    await runArrivals({
      ratePerSec: rate,
      durationMs: o.durationMs,
      maxInFlight: o.maxInFlight,
      drainMs: DRAIN_MS,
      recorder,
      fire: (i, intendedAt) =>
        new Promise<void>((done) => {
          const d = i % devices.length
          const device = devices[d]!
          if (device.ws.readyState !== WebSocket.OPEN) {
            recorder.recordError("closed", performance.now())
            done()
            return
          }
          const seq = ++device.seq
          // Device d owns sensors d, d + devices, ...: a sensor always comes from the same connection.
          const sensor = d + devices.length * (Math.floor(i / devices.length) % Math.max(1, Math.floor(traffic.sensors / devices.length)))
          device.waiting.set(seq, { intendedAt, done })
          device.ws.send(deviceFrame(seq, [traffic.reading(sensor)]))
        })
    })
  } finally {
    recorder.end()
    for (const d of devices) d.ws.close()
  }
  return recorder.summary()
}

/** Dashboards watching the first sensors; latency is frame arrival minus the reading's ts (its send time). */
const watch = async (o: LoadOptions, traffic: Traffic, label: string) => {
  const recorder = new Recorder(label)
  let lagged = 0
  const sockets: Array<WebSocket> = []
  for (let j = 0; j < o.dashboards; j++) {
    const ws = await open(wsUrl(o.url, "/ws/live"))
    const sensors = Array.from({ length: o.sensorsPerDashboard }, (_, k) => traffic.id((j * o.sensorsPerDashboard + k) % traffic.sensors))
    const subscribed = new Promise<void>((resolve) => {
      ws.on("message", (data) => {
        const text = data.toString()
        if (text.includes('"subscribed"')) resolve()
        const now = Date.now()
        const at = performance.now()
        for (const ms of liveLatencies(text, now)) recorder.recordLatency(ms, at)
        lagged += laggedCount(text)
      })
    })
    ws.send(subscribeFrame(sensors))
    await subscribed
    sockets.push(ws)
  }
  return {
    stop: (): RecorderSummary => {
      recorder.end()
      for (const ws of sockets) ws.close()
      const s = recorder.summary()
      return lagged > 0 ? { ...s, errors: { ...s.errors, lagged } } : s
    }
  }
}

/** History queries (`GET /api/v1/sensors/{id}/readings?limit=100`), sensors in turn, at `rate` per second. */
export const queryHistory = async (o: LoadOptions, traffic: Traffic, rate: number): Promise<RecorderSummary> => {
  const recorder = new Recorder("history")
  const pool = makePool(new URL(o.url).origin, 16)
  try {
    await runArrivals({
      ratePerSec: rate,
      durationMs: o.durationMs,
      maxInFlight: 64,
      drainMs: DRAIN_MS,
      recorder,
      fire: async (i, intendedAt) => {
        try {
          const answer = await get(pool, `/api/v1/sensors/${encodeURIComponent(traffic.id(i))}/readings?limit=100`)
          const now = performance.now()
          if (answer.status === 200 || answer.status === 404) recorder.recordOk(intendedAt, now, { accepted: 0, durable: 0 })
          else recorder.recordError(`http_${answer.status}`, now, answer.status === 503)
        } catch (e) {
          recorder.recordError(errorCode(e), performance.now())
        }
      }
    })
  } finally {
    recorder.end()
    await pool.close()
  }
  return recorder.summary()
}

const report = (o: LoadOptions, rate: number, parts: ReadonlyArray<RecorderSummary>): ScenarioReport => ({
  scenario: o.scenario,
  rate,
  parts,
  durableReadings: parts.reduce((s, p) => s + p.durableReadings, 0),
  prefix: o.prefix
})

/**
 * Sends every sensor one reading (`ack=accepted`, 4 requests of 100 at a time) so that the measured run
 * finds their actors resident: activating a sensor (loading its config and state) costs far more
 * than a reading, and a fleet is activated once, not at every step.
 */
export const warmUp = async (o: LoadOptions): Promise<{ readonly sensors: number; readonly ms: number }> => {
  const started = performance.now()
  const traffic = new Traffic(o.sensors, o.sites, o.prefix, o.seed)
  const concurrency = 4
  const pool = makePool(new URL(o.url).origin, concurrency)
  const perRequest = 100
  let next = 0
  const worker = async () => {
    while (next < o.sensors) {
      const first = next
      next += perRequest
      const readings = Array.from({ length: Math.min(perRequest, o.sensors - first) }, (_, k) => traffic.reading(first + k, Date.now() - 60_000))
      for (let attempt = 0; attempt < 20; attempt++) {
        const answer = await post(pool, "/api/v1/readings?ack=accepted", JSON.stringify({ readings })).catch(() => null)
        if (answer?.status === 202) break
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    await pool.close()
  }
  return { sensors: o.sensors, ms: performance.now() - started }
}

/** Runs the scenario once at `rate` (arrivals per second, see `LoadOptions.rate`). */
export const runScenario = async (o: LoadOptions, rate: number = o.rate): Promise<ScenarioReport> => {
  const traffic = new Traffic(o.sensors, o.sites, o.prefix, o.seed)
  switch (o.scenario) {
    case "http":
      return report(o, rate, [await ingestHttp(o, traffic, rate, o.batch, `http ${o.batch}/request`)])
    case "ws":
      return report(o, rate, [await ingestWs(o, traffic, rate, "ws devices")])
    case "live": {
      const dashboards = await watch(o, traffic, "live")
      // Readings for the watched sensors only, one per request, so each one's latency is its own.
      const watched = new Traffic(Math.min(o.sensors, o.dashboards * o.sensorsPerDashboard), o.sites, o.prefix, o.seed)
      const ingest = await ingestHttp(o, watched, rate, 1, "live ingest")
      await new Promise((r) => setTimeout(r, 200))
      return report(o, rate, [dashboards.stop(), ingest])
    }
    case "mixed": {
      const dashboards = await watch(o, traffic, "live")
      const parts = await Promise.all([
        ingestHttp(o, traffic, rate, o.batch, `http ${o.batch}/request`),
        ingestWs(o, new Traffic(o.sensors, o.sites, `${o.prefix}ws-`, o.seed + 1), Math.max(1, rate / 2), "ws devices"),
        queryHistory(o, traffic, Math.max(1, rate / 20))
      ])
      return report(o, rate, [...parts, dashboards.stop()])
    }
    case "mqtt":
      return report(o, rate, await runMqtt(o))
  }
}
