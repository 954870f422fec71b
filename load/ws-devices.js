// @ts-check
// WebSocket devices: DEVICES connections to /ws/devices, each streaming one reading per frame every
// FRAME_INTERVAL_MS_MIN..MAX ms (uniformly at random) for DURATION, without waiting for acks, and
// pairing every ack with its frame by seq (acks may overtake each other).
//
//   npm start                      # a node on :8080
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e DEVICES=1000 -e FRAME_INTERVAL_MS_MIN=50 -e FRAME_INTERVAL_MS_MAX=150 load/ws-devices.js
//
// Against the docker-compose cluster (`docker compose up --build`), devices spread over its three nodes:
//   k6 run -e BASE_URL=http://localhost:8081,http://localhost:8082,http://localhost:8083 -e DEVICES=1000 load/ws-devices.js
//
// Devices write the sensors after the HTTP ingest's (indexes SENSORS and up, see deviceSensors), so
// this script runs beside http-ingest.js without either's readings turning out_of_order.
// Needs k6 v1.0 or newer (k6/websockets).
import { check } from "k6"
import exec from "k6/execution"
import { Counter, Rate, Trend } from "k6/metrics"
import { clearTimeout, setTimeout } from "k6/timers"
import { WebSocket } from "k6/websockets"
import { ackOutcome } from "./lib/answers.js"
import { deviceFrame } from "./lib/bodies.js"
import { baseUrlFor, readConfig, wsUrl } from "./lib/config.js"
import { hash32, mulberry32 } from "./lib/prng.js"
import { sessions } from "./lib/scenarios.js"
import { createValueModel, deviceSensors, sensorId } from "./lib/sensors.js"

const settings = readConfig(__ENV)
if (!settings.ok) throw new Error(`invalid settings:\n  ${settings.errors.join("\n  ")}`)
const config = settings.config

/** @type {import("k6/options").Options} */
export const options = {
  scenarios: { devices: sessions("device", config.devices, config.runMs) },
  thresholds: {
    ws_ack_latency: [`p(95)<${config.p95Ms}`, `p(99)<${config.p99Ms}`],
    ws_frame_failed: [`rate<${config.maxErrorRate}`],
    checks: ["rate>0.99"]
  },
  summaryTrendStats: ["avg", "med", "p(95)", "p(99)", "max"]
}

/** Frame sent → its ack received. */
export const ackLatency = new Trend("ws_ack_latency", true)
export const acks = new Counter("ws_acks")
/** Error frames (tagged with their code), frames never answered, sockets that failed or closed early. */
export const wsErrors = new Counter("ws_errors")
/** Per frame: answered by an error, or never answered. */
export const frameFailed = new Rate("ws_frame_failed")
export const readingsAccepted = new Counter("readings_accepted")
export const readingsRejected = new Counter("readings_rejected")

/** After its run a device stops sending and waits this long at most for its last acks. */
const DRAIN_MS = 10_000
const model = createValueModel(config.seed, { spikeRate: config.spikeRate, stuckRate: config.stuckRate })

/** One device: a connection kept open for the run (one iteration of a per-vu-iterations scenario). */
export function device() {
  const index = exec.scenario.iterationInTest
  const owned = deviceSensors(index, config.devices, config.sensors, config.sensors)
  const ids = owned.map((sensor) => sensorId(sensor, config.sites))
  const lastTs = owned.map(() => 0)
  const random = mulberry32(hash32(config.seed, index))
  const spread = config.frameIntervalMsMax - config.frameIntervalMsMin + 1
  /** @type {Map<number, number>} seq → when the frame was sent */
  const pending = new Map()
  let seq = 0
  let stopping = false
  /** @type {number | null} */
  let sendTimer = null
  /** @type {number | null} */
  let stopTimer = null
  /** @type {number | null} */
  let drainTimer = null

  const ws = new WebSocket(wsUrl(baseUrlFor(config, index), `/ws/devices?ack=${config.ack}`))

  const sendNext = () => {
    const k = seq % owned.length
    const sensor = owned[k]
    const id = ids[k]
    if (sensor === undefined || id === undefined) return
    // one sensor may come round again within a millisecond: its ts must still increase
    const ts = Math.max(Date.now(), (lastTs[k] ?? 0) + 1)
    lastTs[k] = ts
    seq++
    pending.set(seq, Date.now())
    ws.send(deviceFrame(seq, [{ sensor: id, ts, value: model.next(sensor, ts) }]))
    sendTimer = setTimeout(sendNext, config.frameIntervalMsMin + Math.floor(random() * spread))
  }

  const stop = () => {
    stopping = true
    if (sendTimer !== null) clearTimeout(sendTimer)
    if (pending.size === 0) ws.close()
    else drainTimer = setTimeout(() => ws.close(), DRAIN_MS)
  }

  ws.onopen = () => {
    sendNext()
    stopTimer = setTimeout(stop, config.runMs)
  }

  ws.onmessage = (event) => {
    const received = Date.now()
    const answer = ackOutcome(typeof event?.data === "string" ? event.data : null)
    const sentAt = answer.seq === null ? undefined : pending.get(answer.seq)
    if (answer.seq !== null) pending.delete(answer.seq)
    if (answer.kind === "ack") {
      check(answer, {
        "ack pairs with a frame in flight": () => sentAt !== undefined,
        "reading accepted": (a) => a.accepted === 1
      })
      if (sentAt !== undefined) ackLatency.add(received - sentAt)
      acks.add(1)
      frameFailed.add(false)
      readingsAccepted.add(answer.accepted)
      for (const [reason, count] of Object.entries(answer.rejected)) readingsRejected.add(count, { reason })
    } else {
      wsErrors.add(1, { code: answer.kind === "error" ? (answer.code ?? "unknown") : "unexpected_frame" })
      if (answer.kind === "error") frameFailed.add(true)
    }
    if (stopping && pending.size === 0) ws.close()
  }

  ws.onerror = (event) => {
    wsErrors.add(1, { code: "socket_error", error: event?.error ?? "" })
  }

  ws.onclose = () => {
    if (!stopping) wsErrors.add(1, { code: "closed_early" })
    if (pending.size > 0) wsErrors.add(pending.size, { code: "unanswered" })
    for (let i = 0; i < pending.size; i++) frameFailed.add(true)
    pending.clear()
    for (const timer of [sendTimer, stopTimer, drainTimer]) if (timer !== null) clearTimeout(timer)
  }
}

export default device
