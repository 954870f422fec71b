/**
 * One dashboard's WebSocket. Items of the sensors it watches wait in a bounded buffer (counted in
 * readings) and leave at most once per interval, merged per sensor; when the buffer overflows the
 * oldest items go, are counted, and the next flush starts with `{type:"lagged", dropped}`. The
 * first item after a quiet interval leaves at once (a sparse feed is not delayed). A
 * dashboard that does not read its socket only ever costs its buffer: nothing is written to a
 * socket past the high-water mark, and ingestion never waits for it.
 * A dashboard names its tenant's sensors; inside, topics and items use the ids inside the node
 * (`domain/tenancy.ts`), mapped once on the way in (subscribe) and once on the way out (frames), so
 * another tenant's sensor with the same name is a different topic it can never reach.
 */
import type { Principal } from "../auth/principal.js"
import { Either } from "effect"
import { externalId, internalId } from "../../domain/tenancy.js"
import type { WebSocket } from "ws"
import type { LiveSink } from "../../live/live-hub.js"
import { ALL_ALERTS, allAlertsOf, itemSize, type LiveItem, type LiveTopic, topicKey } from "../../live/live-item.js"
import { liveDashboardSubscriptions, liveDropped, liveLatency, wsFrames } from "../../telemetry/metrics.js"
import { decodeLiveFrame, framesOf, type LiveProblem } from "./live-frames.js"

export interface LiveSettings {
  readonly bufferReadings: number
  readonly highWaterBytes: number
  readonly maxSubscriptions: number
}

export interface SensorSnapshot {
  readonly sensor: string
  /** Null: the sensor has not sent anything yet; its readings stream once it does. */
  readonly state: unknown
}

export interface LiveServices {
  readonly subscribe: (topic: LiveTopic, sink: LiveSink) => void
  readonly unsubscribe: (topic: LiveTopic, sink: LiveSink) => void
  readonly states: (sensors: ReadonlyArray<string>) => Promise<ReadonlyArray<SensorSnapshot>>
  /** Asks for a flush at the next interval. */
  readonly markDirty: (c: LiveConnection) => void
}

const COMPACT_AFTER = 1_024

export class LiveConnection implements LiveSink {
  alive = true
  dirty = false
  /** When it last sent readings: the next frame may leave one interval later. */
  lastFlushAt = 0
  private readonly topics = new Map<string, LiveTopic>()
  private readonly sensors = new Set<string>()
  private items: Array<LiveItem | undefined> = []
  private head = 0
  private buffered = 0
  private dropped = 0
  private confirming = 0
  /** The all-alerts topic of the dashboard's tenant. */
  private readonly allAlerts: string

  constructor(
    readonly ws: WebSocket,
    private readonly settings: LiveSettings,
    private readonly services: LiveServices,
    /** Who opened the connection (subscriptions are checked against it). */
    readonly principal: Principal
  ) {
    this.allAlerts = allAlertsOf(principal.tenant)
    ws.on("message", (data, isBinary) => {
      wsFrames.live.in.inc()
      if (isBinary) this.problem({ code: "validation_failed", message: "frame: must be text (UTF-8 JSON), not binary" })
      else this.onCommand(data.toString())
    })
    ws.on("pong", () => {
      this.alive = true
    })
  }

  deliver(item: LiveItem, viaPrefix: boolean): void {
    if (viaPrefix && this.sensors.has(item.sensor)) return
    // A dashboard watching every alert gets each one once, from the all-alerts topic.
    if (item._tag === "Alert" && item.sensor !== this.allAlerts && this.sensors.has(this.allAlerts)) return
    this.items.push(item)
    this.buffered += itemSize(item)
    while (this.buffered > this.settings.bufferReadings && this.head < this.items.length) {
      const old = this.items[this.head]
      this.items[this.head++] = undefined
      if (old === undefined) continue
      const size = itemSize(old)
      this.buffered -= size
      this.dropped += size
      liveDropped.slow_client.inc(size)
    }
    if (this.head > COMPACT_AFTER && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    this.requestFlush()
  }

  private requestFlush(): void {
    if (this.dirty) return
    this.dirty = true
    this.services.markDirty(this)
  }

  /** Sends what is buffered; returns whether something is still waiting (confirmation pending, socket full). */
  flush(now: number): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false
    if (this.confirming > 0 || this.ws.bufferedAmount > this.settings.highWaterBytes) return true
    this.lastFlushAt = now
    if (this.dropped > 0) {
      this.send({ type: "lagged", dropped: this.dropped })
      this.dropped = 0
    }
    if (this.head < this.items.length) {
      const items: Array<LiveItem> = []
      for (let i = this.head; i < this.items.length; i++) {
        const item = this.items[i]
        if (item === undefined) continue
        items.push(item)
        if (item._tag === "Readings") liveLatency.observe((now - item.receivedAt) / 1000)
      }
      this.items = []
      this.head = 0
      this.buffered = 0
      for (const frame of framesOf(items, 0, externalId)) this.send(frame)
    }
    return false
  }

  notice(frame: object): void {
    this.send(frame)
  }

  /** Drops every subscription (the socket closed). */
  release(): void {
    for (const topic of this.topics.values()) this.services.unsubscribe(topic, this)
    liveDashboardSubscriptions.dec(this.topics.size)
    this.topics.clear()
    this.sensors.clear()
  }

  private onCommand(text: string): void {
    const decoded = decodeLiveFrame(text, this.settings.maxSubscriptions)
    if (Either.isLeft(decoded)) {
      this.problem(decoded.left)
      return
    }
    const { type } = decoded.right
    const topics = decoded.right.topics.map((t) => this.inside(t))
    if (type === "unsubscribe") {
      this.unsubscribe(topics)
      return
    }
    const fresh: Array<LiveTopic> = []
    const seen = new Set<string>()
    for (const t of topics) {
      const key = topicKey(t)
      if (this.topics.has(key) || seen.has(key)) continue
      seen.add(key)
      fresh.push(t)
    }
    if (this.topics.size + fresh.length > this.settings.maxSubscriptions) {
      this.problem({
        code: "too_many_subscriptions",
        message: `sensors: this connection would hold ${this.topics.size + fresh.length} subscriptions; the limit is ${this.settings.maxSubscriptions} (LIVE_MAX_SUBSCRIPTIONS)`
      })
      return
    }
    for (const topic of fresh) {
      this.topics.set(topicKey(topic), topic)
      if (topic._tag === "Sensor") this.sensors.add(topic.sensor)
      this.services.subscribe(topic, this)
    }
    liveDashboardSubscriptions.inc(fresh.length)
    // Readings that arrive before the confirmation wait in the buffer and follow it.
    this.confirming++
    const exact = topics.flatMap((t) => (t._tag === "Sensor" && t.sensor !== this.allAlerts ? [t.sensor] : []))
    this.services
      .states(exact)
      .catch(() => exact.map((sensor) => ({ sensor, state: null })))
      .then((states) => {
        this.confirming--
        this.send({
          type: "subscribed",
          sensors: states.map((s) => ({ sensor: externalId(s.sensor), state: s.state })),
          prefixes: topics.flatMap((t) => (t._tag === "Prefix" ? [externalId(topicKey(t))] : [])),
          alerts: this.sensors.has(this.allAlerts)
        })
        if (this.head < this.items.length || this.dropped > 0) this.requestFlush()
      })
  }

  private unsubscribe(topics: ReadonlyArray<LiveTopic>): void {
    const removed: Array<string> = []
    for (const topic of topics) {
      const key = topicKey(topic)
      const held = this.topics.get(key)
      if (held === undefined) continue
      this.topics.delete(key)
      if (held._tag === "Sensor") this.sensors.delete(held.sensor)
      this.services.unsubscribe(held, this)
      removed.push(key)
    }
    liveDashboardSubscriptions.dec(removed.length)
    this.send({
      type: "unsubscribed",
      sensors: removed.flatMap((k) => (k === this.allAlerts ? [] : [externalId(k)])),
      alerts: removed.includes(this.allAlerts)
    })
  }

  /** A topic as the dashboard named it, as the node knows it: its tenant's sensors, its tenant's alerts. */
  private inside(t: LiveTopic): LiveTopic {
    const tenant = this.principal.tenant
    if (t._tag === "Prefix") return { _tag: "Prefix", prefix: internalId(tenant, t.prefix) }
    return { _tag: "Sensor", sensor: t.sensor === ALL_ALERTS ? this.allAlerts : internalId(tenant, t.sensor) }
  }

  private problem(p: LiveProblem | { readonly code: "too_many_subscriptions"; readonly message: string }): void {
    this.send({ type: "error", ...p })
  }

  private send(frame: object): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    wsFrames.live.out.inc()
    this.ws.send(JSON.stringify(frame))
  }
}
