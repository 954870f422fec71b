/**
 * WebSocket load for the bench: device connections streaming readings (closed loop, a window of
 * frames in flight per connection, or paced at a total rate), and dashboards measuring live
 * latency from the `ts` each reading carries (set to the send time) to its arrival.
 */
import WebSocket from "ws"
import { LatencyHistogram } from "./latency-histogram.js"

const open = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once("open", () => resolve(ws))
    ws.once("error", reject)
  })

export const openMany = async (url: string, n: number, concurrency = 50): Promise<Array<WebSocket>> => {
  const out: Array<WebSocket> = []
  for (let i = 0; i < n; i += concurrency) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, () => open(url)))))
  }
  return out
}

export interface DeviceTally {
  framesSent: number
  acks: number
  acceptedDurable: number
  acceptedNotDurable: number
  /** Durable acks over the whole run (warm-up included), for the durability check. */
  allDurable: number
  rejected: Record<string, number>
  errors: Record<string, number>
  readonly latency: LatencyHistogram
}

const newDeviceTally = (): DeviceTally => ({
  framesSent: 0,
  acks: 0,
  acceptedDurable: 0,
  acceptedNotDurable: 0,
  allDurable: 0,
  rejected: {},
  errors: {},
  latency: new LatencyHistogram()
})

interface Ack {
  readonly type: string
  readonly seq?: number
  readonly accepted?: number
  readonly durable?: boolean
  readonly code?: string
  readonly rejected?: ReadonlyArray<{ readonly reason: string }>
}

/** One device: one sensor, strictly increasing ts, frames of `perFrame` readings. */
class Device {
  private seq = 0
  private lastTs = 0
  private value = 0
  readonly sentAt = new Map<number, number>()

  constructor(
    readonly ws: WebSocket,
    readonly sensor: string,
    private readonly perFrame: number
  ) {}

  frame(): string {
    const now = Date.now()
    let ts = Math.max(now - this.perFrame + 1, this.lastTs + 1)
    let readings = ""
    for (let i = 0; i < this.perFrame; i++) {
      this.value = (this.value + 1) % 1_000
      readings += `${i === 0 ? "" : ","}{"sensor":"${this.sensor}","ts":${ts},"value":${this.value}}`
      this.lastTs = ts
      ts++
    }
    const seq = this.seq++
    this.sentAt.set(seq, performance.now())
    return `{"type":"readings","seq":${seq},"readings":[${readings}]}`
  }
}

const countAck = (t: DeviceTally, device: Device, text: string, measuring: boolean): void => {
  const ack: Ack = JSON.parse(text)
  const sent = ack.seq === undefined ? undefined : device.sentAt.get(ack.seq)
  if (ack.seq !== undefined) device.sentAt.delete(ack.seq)
  if (ack.type === "ack" && ack.durable === true) t.allDurable += ack.accepted ?? 0
  if (!measuring) return
  if (ack.type === "ack") {
    t.acks++
    if (ack.durable === true) t.acceptedDurable += ack.accepted ?? 0
    else t.acceptedNotDurable += ack.accepted ?? 0
    for (const r of ack.rejected ?? []) t.rejected[r.reason] = (t.rejected[r.reason] ?? 0) + 1
    if (sent !== undefined) t.latency.record(performance.now() - sent)
  } else {
    const code = ack.code ?? ack.type
    t.errors[code] = (t.errors[code] ?? 0) + 1
  }
}

export interface DeviceFleet {
  readonly devices: ReadonlyArray<Device>
  readonly close: () => void
}

export const connectDevices = async (url: string, sensors: ReadonlyArray<string>, perFrame: number): Promise<DeviceFleet> => {
  const sockets = await openMany(url, sensors.length)
  const devices = sockets.map((ws, i) => new Device(ws, sensors[i]!, perFrame))
  return { devices, close: () => {
      for (const ws of sockets) ws.terminate()
    } }
}

/**
 * Saturation: every device keeps `window` frames in flight for `warmupMs + durationMs`; answers
 * are counted during the last `durationMs` only. Ends when every frame sent is answered.
 */
export const closedLoopDevices = (fleet: DeviceFleet, window: number, warmupMs: number, durationMs: number): Promise<{ tally: DeviceTally; elapsedMs: number }> =>
  new Promise((resolve) => {
    const tally = newDeviceTally()
    const start = performance.now()
    const measureFrom = start + warmupMs
    const stopAt = measureFrom + durationMs
    let outstanding = 0
    let waitingToRetry = 0
    let measuredEnd = 0
    const finishIfDone = () => {
      if (outstanding === 0 && waitingToRetry === 0 && performance.now() >= stopAt) {
        for (const d of fleet.devices) d.ws.removeAllListeners("message")
        resolve({ tally, elapsedMs: measuredEnd - measureFrom })
      }
    }
    for (const device of fleet.devices) {
      const send = () => {
        outstanding++
        if (performance.now() >= measureFrom) tally.framesSent++
        device.ws.send(device.frame())
      }
      device.ws.on("message", (data) => {
        outstanding--
        const now = performance.now()
        const measuring = now >= measureFrom && now < stopAt
        if (measuring) measuredEnd = now
        const text = data.toString()
        countAck(tally, device, text, measuring)
        if (now >= stopAt) {
          finishIfDone()
          return
        }
        // A refused frame (the node is at its bound) is followed by a pause of retryAfterMs, as a device would.
        const retry = /"retryAfterMs":(\d+)/.exec(text)
        if (retry === null) {
          send()
          return
        }
        waitingToRetry++
        setTimeout(() => {
          waitingToRetry--
          if (performance.now() < stopAt) send()
          else finishIfDone()
        }, Number(retry[1]))
      })
      for (let i = 0; i < window; i++) send()
    }
  })

/** Paced load: `rate` frames per second over all devices in turn, for `durationMs`. Resolves when all are answered. */
export const pacedDevices = (fleet: DeviceFleet, rate: number, durationMs: number): Promise<DeviceTally> =>
  new Promise((resolve) => {
    const tally = newDeviceTally()
    const start = performance.now()
    let sent = 0
    let answered = 0
    let next = 0
    let done = false
    for (const device of fleet.devices) {
      device.ws.on("message", (data) => {
        answered++
        countAck(tally, device, data.toString(), true)
        if (done && answered === sent) {
          for (const d of fleet.devices) d.ws.removeAllListeners("message")
          resolve(tally)
        }
      })
    }
    const tick = () => {
      const elapsed = performance.now() - start
      const due = Math.min(Math.floor((elapsed * rate) / 1000), Math.floor((durationMs * rate) / 1000))
      for (; sent < due; sent++) {
        const device = fleet.devices[next]!
        next = (next + 1) % fleet.devices.length
        tally.framesSent++
        device.ws.send(device.frame())
      }
      if (elapsed < durationMs) setTimeout(tick, 2)
      else {
        done = true
        if (answered === sent) resolve(tally)
      }
    }
    tick()
  })

export interface Dashboards {
  readonly latency: LatencyHistogram
  readings: number
  lagged: number
  readonly close: () => void
}

interface LiveFrame {
  readonly type: string
  readonly dropped?: number
  readonly sensors?: ReadonlyArray<{ readonly ts: ReadonlyArray<number> }>
}

/** `count` dashboards, each subscribed to its own list of sensors; latency from each reading's ts to its arrival. */
export const connectDashboards = async (url: string, subscriptions: ReadonlyArray<ReadonlyArray<string>>): Promise<Dashboards> => {
  const sockets = await openMany(url, subscriptions.length)
  const out: Dashboards = { latency: new LatencyHistogram(), readings: 0, lagged: 0, close: () => {
      for (const ws of sockets) ws.terminate()
    } }
  await Promise.all(
    sockets.map(
      (ws, i) =>
        new Promise<void>((resolve) => {
          ws.on("message", (data) => {
            const now = Date.now()
            const frame: LiveFrame = JSON.parse(data.toString())
            if (frame.type === "subscribed") resolve()
            else if (frame.type === "lagged") out.lagged += frame.dropped ?? 0
            else if (frame.type === "readings") {
              for (const feed of frame.sensors ?? []) {
                for (const ts of feed.ts) out.latency.record(now - ts)
                out.readings += feed.ts.length
              }
            }
          })
          ws.send(JSON.stringify({ type: "subscribe", sensors: subscriptions[i] }))
        })
    )
  )
  return out
}
