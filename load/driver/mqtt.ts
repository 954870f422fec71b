/**
 * The MQTT scenario: a fleet of devices, each its own MQTT 5 client publishing HTTP ingest bodies
 * at QoS 1 to `<topic prefix>/<device>/readings` and hearing its verdicts on `<prefix>/<device>/acks`
 * (README "MQTT"), paired by correlation data. A closed loop: each device keeps at most `inFlight`
 * messages unanswered, each slot with its own sensors, so a sensor never has two messages in flight
 * (the shared subscription hands a device's messages to different node connections, which could
 * otherwise reorder them). Two latencies per message: publish -> PUBACK (the broker took it) and
 * publish -> the node's verdict, sent only after the commit for QoS 1 (durable).
 */
import { setTimeout as sleep } from "node:timers/promises"
import { connectAsync, type IPublishPacket, type MqttClient } from "mqtt"
import { ingestOutcome } from "../lib/answers.js"
import type { LoadOptions } from "./args.js"
import { isLoopback } from "./loopback.js"
import { Recorder, type RecorderSummary } from "./recorder.js"
import { Traffic } from "./traffic.js"

export type MqttOptions = Pick<
  LoadOptions,
  "mqttUrl" | "topicPrefix" | "devices" | "batch" | "perSensor" | "inFlight" | "durationMs" | "sites" | "prefix" | "seed" | "answerTimeoutMs"
>

interface Waiting {
  readonly sentAt: number
  readonly readings: number
  readonly answered: (at: number, status: number, text: string) => void
}

interface Device {
  readonly name: string
  readonly client: MqttClient
  readonly topic: string
  seq: number
  readonly waiting: Map<string, Waiting>
}

/** Null when the URL is an mqtt:// (or ws://) URL on loopback, else why not. */
export const mqttUrlProblem = (url: string): string | null => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `--mqtt-url: not a URL: ${JSON.stringify(url)}`
  }
  if (!["mqtt:", "ws:"].includes(parsed.protocol)) return `--mqtt-url: must be mqtt:// or ws://, got ${parsed.protocol}`
  if (!isLoopback(parsed.hostname)) return `--mqtt-url: the load driver targets loopback only (127.0.0.0/8, ::1, localhost), got ${parsed.hostname}`
  return null
}

/** Sensors the fleet writes: one group per device and slot, `batch / perSensor` sensors each. */
export const fleetSensors = (o: Pick<MqttOptions, "devices" | "inFlight" | "batch" | "perSensor">): number =>
  o.devices * o.inFlight * Math.ceil(o.batch / Math.min(o.batch, o.perSensor))

const statusOf = (packet: IPublishPacket): number => {
  const raw = packet.properties?.userProperties?.status
  return Number(Array.isArray(raw) ? raw[0] : raw)
}

/** Everything a run (or several) of one fleet saw, beyond the per-run summaries. */
export interface FleetTotals {
  /** Messages and readings the broker acknowledged (PUBACK): what the devices handed over for good. */
  pubackedMessages: number
  pubackedReadings: number
  durableReadings: number
  /** Verdicts for messages no longer waited on: redeliveries after a node restart, or answers after the timeout. */
  lateVerdicts: number
  publishErrors: number
}

export interface MqttFleet {
  readonly totals: FleetTotals
  /**
   * One closed-loop run: `[publish -> durable verdict, publish -> PUBACK]` summaries. `everySlot`
   * (a warm-up) runs on past the duration until every slot had an answer, so that every sensor is active.
   */
  readonly run: (durationMs: number, label: string, everySlot?: boolean) => Promise<[RecorderSummary, RecorderSummary]>
  readonly close: () => Promise<void>
}

const CONNECT_CONCURRENCY = 50

export const connectFleet = async (o: MqttOptions): Promise<MqttFleet> => {
  const perSensor = Math.min(o.batch, o.perSensor)
  const traffic = new Traffic(fleetSensors(o), o.sites, o.prefix, o.seed)
  const totals: FleetTotals = { pubackedMessages: 0, pubackedReadings: 0, durableReadings: 0, lateVerdicts: 0, publishErrors: 0 }
  const devices: Array<Device> = []
  const connectOne = async (d: number): Promise<Device> => {
    const name = `${o.prefix}dev-${d}`
    const client = await connectAsync(o.mqttUrl, { protocolVersion: 5, clientId: name, clean: true, reconnectPeriod: 1_000, connectTimeout: 10_000, keepalive: 60 })
    const device: Device = { name, client, topic: `${o.topicPrefix}/${name}/readings`, seq: 0, waiting: new Map() }
    client.on("message", (_topic, payload, packet) => {
      const now = performance.now()
      const key = packet.properties?.correlationData?.toString("utf8") ?? ""
      const w = device.waiting.get(key)
      if (w === undefined) {
        totals.lateVerdicts++
        return
      }
      device.waiting.delete(key)
      w.answered(now, statusOf(packet), payload.toString("utf8"))
    })
    await client.subscribeAsync(`${o.topicPrefix}/${name}/acks`, { qos: 0 })
    return device
  }
  for (let d = 0; d < o.devices; d += CONNECT_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONNECT_CONCURRENCY, o.devices - d) }, (_, k) => connectOne(d + k))
    devices.push(...(await Promise.all(batch)))
  }

  /** Publishes one message and settles once its verdict came (or the answer timeout passed). */
  const publish = (device: Device, group: number, verdicts: Recorder, pubacks: Recorder): Promise<void> =>
    new Promise<void>((done) => {
      const seq = String(++device.seq)
      const body = traffic.batch(group, o.batch, perSensor)
      const sentAt = performance.now()
      const timer = setTimeout(() => {
        if (!device.waiting.delete(seq)) return
        verdicts.recordError("unanswered", performance.now())
        done()
      }, o.answerTimeoutMs)
      verdicts.markSent(sentAt)
      pubacks.markSent(sentAt)
      device.waiting.set(seq, {
        sentAt,
        readings: o.batch,
        answered: (at, status, text) => {
          clearTimeout(timer)
          const out = ingestOutcome(status, text)
          if (out.ok) {
            const durable = out.durable ? out.accepted : 0
            totals.durableReadings += durable
            verdicts.recordOk(sentAt, at, { accepted: out.accepted, durable })
            for (const [reason, n] of Object.entries(out.rejected)) verdicts.recordRejected(reason, n)
          } else verdicts.recordError(out.error ?? `status_${status}`, at, out.overloaded)
          done()
        }
      })
      device.client.publish(device.topic, body, { qos: 1, properties: { correlationData: Buffer.from(seq) } }, (error) => {
        const now = performance.now()
        if (error !== undefined && error !== null) {
          totals.publishErrors++
          pubacks.recordError(`publish_${error.name}`, now)
          return
        }
        totals.pubackedMessages++
        totals.pubackedReadings += o.batch
        pubacks.recordOk(sentAt, now, { accepted: o.batch, durable: 0 })
      })
    })

  const run = async (durationMs: number, label: string, everySlot = false): Promise<[RecorderSummary, RecorderSummary]> => {
    const verdicts = new Recorder(`${label} publish->verdict`)
    const pubacks = new Recorder(`${label} publish->PUBACK`)
    const deadline = performance.now() + durationMs
    const slot = async (device: Device, group: number) => {
      let answered = false
      while (performance.now() < deadline || (everySlot && !answered)) {
        if (!device.client.connected) {
          await sleep(100)
          continue
        }
        await publish(device, group, verdicts, pubacks)
        answered = true
      }
    }
    await Promise.all(devices.flatMap((device, d) => Array.from({ length: o.inFlight }, (_, s) => slot(device, d * o.inFlight + s))))
    verdicts.end()
    pubacks.end()
    return [verdicts.summary(), pubacks.summary()]
  }

  const close = async () => {
    await Promise.all(devices.map((d) => d.client.endAsync().catch(() => undefined)))
  }
  return { totals, run, close }
}

/** `npm run load -- --scenario mqtt`: connect, warm up (activating the fleet's sensors), measure, disconnect. */
export const runMqtt = async (o: MqttOptions & Pick<LoadOptions, "warmupMs">): Promise<[RecorderSummary, RecorderSummary]> => {
  const fleet = await connectFleet(o)
  try {
    const label = `mqtt ${o.batch}/msg`
    if (o.warmupMs > 0) await fleet.run(o.warmupMs, `${label} warm-up`, true)
    return await fleet.run(o.durationMs, label)
  } finally {
    await fleet.close()
  }
}
