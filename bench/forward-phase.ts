/**
 * What forwarding readings out costs ingest: two nodes on the machine's PostgreSQL, one forwarding
 * nothing, one forwarding every committed reading to a Redis stream (the machine's Redis, XADD
 * MAXLEN ~) and to MQTT topics (a private Mosquitto, QoS 0, retained). Both are warmed up, then
 * saturated in turns (see turns.ts); the row compares the median turns and the readings per second
 * of each node's own CPU, and reads the forwarding node's sent and dropped counts from /metrics (a
 * drop is a reading a target could not keep up with: counted, never a slower ingest).
 * 100 readings per request (10 sensors x 10), ack=durable. BENCH_FORWARD=0 skips it.
 */
import { Redis } from "ioredis"
import { BodyPool } from "./bodies.js"
import { startBroker } from "./mosquitto.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget } from "./targets.js"
import { runTurns, type TurnSide } from "./turns.js"

export interface ForwardRow {
  readonly offReadingsPerSec: number
  readonly onReadingsPerSec: number
  /** on / off of the median turns: the claim is that forwarding does not slow ingestion. */
  readonly ratio: number
  readonly cpuRatio: number
  readonly sent: Record<"redis" | "mqtt", number>
  readonly dropped: Record<"redis" | "mqtt", number>
  readonly errors: number
}

const INGEST_PATH = "/api/v1/readings?ack=durable"
const STREAM = `bench:forward:${process.pid}`

const forwarded = async (origin: string) => {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const value = (target: string, outcome: string) =>
    Number(new RegExp(`^flowmesh_forward_readings_total\\{target="${target}",outcome="${outcome}"\\} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN)
  return { sent: { redis: value("redis", "sent"), mqtt: value("mqtt", "sent") }, dropped: { redis: value("redis", "dropped"), mqtt: value("mqtt", "dropped") } }
}

export const runForwardPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<ForwardRow> => {
  const broker = await startBroker()
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
  let off: NodeTarget | null = null
  let on: NodeTarget | null = null
  try {
    // Both nodes have the same Redis and broker (the live feed, the MQTT edge); only forwarding differs.
    const common = { REDIS_URL: redisUrl, MQTT_URL: broker.url }
    off = await startTarget("external", common)
    track(off)
    on = await startTarget("external", {
      ...common,
      FORWARD_REDIS_STREAM: STREAM,
      FORWARD_REDIS_MAXLEN: "100000",
      FORWARD_MQTT: "true",
      FORWARD_MQTT_RETAIN: "true"
    })
    track(on)
    const sides: ReadonlyArray<TurnSide<"off" | "on">> = [
      { name: "off", target: off, endpoint: { origin: off.origin, path: INGEST_PATH }, bodies: new BodyPool(SETTINGS.body) },
      { name: "on", target: on, endpoint: { origin: on.origin, path: INGEST_PATH }, bodies: new BodyPool(SETTINGS.body) }
    ]
    const results = await runTurns(sides, SETTINGS.forward.turns, log, (name) => (name === "on" ? "forwarding to Redis and MQTT" : "forwarding off"))
    const counts = await forwarded(on.origin)
    log(
      `    forwarded: Redis ${counts.sent.redis.toLocaleString("en-US")} sent, ${counts.dropped.redis.toLocaleString("en-US")} dropped; ` +
        `MQTT ${counts.sent.mqtt.toLocaleString("en-US")} sent, ${counts.dropped.mqtt.toLocaleString("en-US")} dropped`
    )
    return {
      offReadingsPerSec: results.median.off,
      onReadingsPerSec: results.median.on,
      ratio: results.median.on / results.median.off,
      cpuRatio: results.perCpuSecond.on / results.perCpuSecond.off,
      ...counts,
      errors: results.errors
    }
  } finally {
    track(null)
    await Promise.all([off?.stop(), on?.stop()])
    await broker.stop()
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await redis
      .connect()
      .then(() => redis.del(STREAM))
      .catch(() => undefined)
    redis.disconnect()
  }
}
