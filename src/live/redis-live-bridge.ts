/**
 * Carries live items between nodes over Redis pub/sub. Publishing is batched: items wait for the
 * next tick and leave as one PUBLISH per sensor per tick, pipelined, and only for sensors another
 * node watches ({@link RemoteInterest}, learnt from announcements on a control channel).
 * Subscribing follows the hub's reference counts: one channel (or pattern) per topic per node,
 * however many dashboards watch it. Redis is never on the ingest path: when it is down, items for
 * other nodes are dropped and counted, local dashboards keep their local feed, and the bridge
 * re-opens every topic and re-announces its interest when it is back.
 */
import { randomUUID } from "node:crypto"
import type { Redis } from "ioredis"
import type { Notification } from "../domain/notification.js"
import { liveDropped, livePublished, liveRemoteItems, liveRemoteTopics } from "../telemetry/metrics.js"
import type { LiveHub } from "./live-hub.js"
import { type LiveItem, type LiveReadings, type LiveTopic, topicKey } from "./live-item.js"
import { type Announcement, decodeAnnouncement, RemoteInterest } from "./remote-interest.js"
import { parseNodeMessage } from "./node-message.js"

const CHANNEL = "flowmesh:live:"
const CONTROL = "flowmesh:live-interest"

const channelOf = (topic: LiveTopic) => (topic._tag === "Sensor" ? CHANNEL + topic.sensor : `${CHANNEL}${topic.prefix}*`)

interface WireReadings {
  readonly o: string
  readonly k: "r"
  readonly ts: ReadonlyArray<number>
  readonly v: ReadonlyArray<number>
  readonly q: ReadonlyArray<number>
  readonly at: number
}
interface WireState {
  readonly o: string
  readonly k: "s"
  readonly from: string
  readonly to: string
  readonly at: number
  readonly reason: string
}

interface WireAlert {
  readonly o: string
  readonly k: "a"
  readonly n: Notification
}

const isNotification = (u: unknown): u is Notification =>
  typeof u === "object" && u !== null && "id" in u && typeof u.id === "number" && "type" in u && typeof u.type === "string"

const numbers = (u: unknown): u is ReadonlyArray<number> => Array.isArray(u) && u.every((n) => typeof n === "number")

/** Reads a message from another node; anything malformed is ignored (and counted by the caller). */
export const decodeWire = (sensor: string, text: string): { origin: string; item: LiveItem } | null => {
  const u = parseNodeMessage(text)
  if (u === null) return null
  if (u.k === "r" && "ts" in u && "v" in u && "q" in u && "at" in u && numbers(u.ts) && numbers(u.v) && numbers(u.q) && typeof u.at === "number") {
    return { origin: u.o, item: { _tag: "Readings", sensor, ts: u.ts, values: u.v, quality: u.q, receivedAt: u.at } }
  }
  if (u.k === "a" && "n" in u && isNotification(u.n)) return { origin: u.o, item: { _tag: "Alert", sensor, notification: u.n } }
  if (u.k === "s" && "from" in u && "to" in u && "at" in u && "reason" in u) {
    const { from, to, at, reason } = u
    if (typeof from === "string" && typeof to === "string" && typeof at === "number" && typeof reason === "string") {
      return { origin: u.o, item: { _tag: "State", sensor, from, to, at, reason } }
    }
  }
  return null
}

export interface BridgeOptions {
  readonly publishTickMs: number
  /** Bound on readings waiting for the next tick; beyond it they are dropped and counted. */
  readonly maxPendingReadings: number
  /** Each node re-announces its whole interest this often; one silent for three periods is forgotten. */
  readonly interestRefreshMs: number
  readonly onHealth: (healthy: boolean) => void
}

export class RedisLiveBridge {
  readonly nodeId = randomUUID()
  private readonly pending = new Map<string, Array<LiveItem>>()
  private pendingReadings = 0
  private timer: NodeJS.Timeout | null = null
  private healthy = false
  private closed = false
  private readonly remote = new RemoteInterest((open) => liveRemoteTopics.inc(open ? 1 : -1))
  private readonly refresh: NodeJS.Timeout

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly hub: LiveHub,
    private readonly options: BridgeOptions
  ) {
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === CONTROL) this.onAnnouncement(message)
      else this.receive(channel.slice(CHANNEL.length), message, null)
    })
    subscriber.on("pmessage", (pattern: string, channel: string, message: string) =>
      this.receive(channel.slice(CHANNEL.length), message, pattern.slice(CHANNEL.length, -1))
    )
    subscriber.on("ready", () => this.reopen())
    subscriber.on("close", () => this.setHealthy(false))
    subscriber.on("error", () => this.setHealthy(false))
    publisher.on("ready", () => this.announceAll(true))
    if (subscriber.status === "ready") this.reopen()
    this.refresh = setInterval(() => {
      this.remote.expire(Date.now() - 3 * options.interestRefreshMs)
      this.announceAll(false)
    }, options.interestRefreshMs)
    this.refresh.unref()
  }

  isHealthy(): boolean {
    return this.healthy
  }

  /** Opens or closes a topic upstream; while Redis is down it is opened on reconnect instead. */
  topicChanged(topic: LiveTopic, open: boolean): void {
    if (this.subscriber.status !== "ready") return
    const channel = channelOf(topic)
    const command =
      topic._tag === "Sensor"
        ? open
          ? this.subscriber.subscribe(channel)
          : this.subscriber.unsubscribe(channel)
        : open
          ? this.subscriber.psubscribe(channel)
          : this.subscriber.punsubscribe(channel)
    command.catch(() => this.setHealthy(false))
    this.announce({ o: this.nodeId, k: open ? "watch" : "unwatch", t: [topicKey(topic)] })
  }

  /** Whether a dashboard on another node watches the sensor. */
  wanted(sensor: string): boolean {
    return this.remote.watched(sensor)
  }

  /** Queues an item for the other nodes (if one watches its sensor); it leaves with the next tick. */
  publish(item: LiveItem): void {
    if (!this.remote.watched(item.sensor)) return
    const size = item._tag === "Readings" ? item.ts.length : 1
    if (this.closed || this.publisher.status !== "ready" || this.pendingReadings + size > this.options.maxPendingReadings) {
      liveDropped.redis.inc(size)
      return
    }
    const queued = this.pending.get(item.sensor)
    if (queued === undefined) this.pending.set(item.sensor, [item])
    else queued.push(item)
    this.pendingReadings += size
    if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.options.publishTickMs)
  }

  /** Sends everything queued now: one PUBLISH per sensor, one pipeline. */
  flush(): Promise<void> {
    this.timer = null
    if (this.pending.size === 0) return Promise.resolve()
    const pipeline = this.publisher.pipeline()
    const dropped = this.pendingReadings
    let messages = 0
    for (const [sensor, items] of this.pending) {
      for (const message of this.encode(items)) {
        pipeline.publish(CHANNEL + sensor, message)
        messages++
      }
    }
    livePublished.inc(messages)
    this.pending.clear()
    this.pendingReadings = 0
    return pipeline.exec().then(
      () => undefined,
      () => {
        liveDropped.redis.inc(dropped)
      }
    )
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.refresh)
    if (this.timer !== null) clearTimeout(this.timer)
    await this.flush()
  }

  /** Consecutive readings items merge into one message; state changes and alerts travel on their own, in order. */
  private encode(items: ReadonlyArray<LiveItem>): Array<string> {
    const out: Array<string> = []
    let run: Array<LiveReadings> = []
    const endRun = () => {
      if (run.length === 0) return
      const first = run[0]!
      const wire: WireReadings =
        run.length === 1
          ? { o: this.nodeId, k: "r", ts: first.ts, v: first.values, q: first.quality, at: first.receivedAt }
          : {
              o: this.nodeId,
              k: "r",
              ts: run.flatMap((r) => r.ts),
              v: run.flatMap((r) => r.values),
              q: run.flatMap((r) => r.quality),
              at: first.receivedAt
            }
      out.push(JSON.stringify(wire))
      run = []
    }
    for (const item of items) {
      if (item._tag === "Readings") {
        run.push(item)
        continue
      }
      endRun()
      const wire: WireState | WireAlert =
        item._tag === "Alert"
          ? { o: this.nodeId, k: "a", n: item.notification }
          : { o: this.nodeId, k: "s", from: item.from, to: item.to, at: item.at, reason: item.reason }
      out.push(JSON.stringify(wire))
    }
    endRun()
    return out
  }

  private receive(sensor: string, message: string, prefix: string | null): void {
    const decoded = decodeWire(sensor, message)
    if (decoded === null) {
      liveDropped.malformed.inc()
      return
    }
    if (decoded.origin === this.nodeId) return
    liveRemoteItems.inc()
    if (prefix === null) this.hub.deliverToSensor(decoded.item)
    else this.hub.deliverToPrefix(prefix, decoded.item)
  }

  private onAnnouncement(text: string): void {
    const a = decodeAnnouncement(text)
    if (a === null || a.o === this.nodeId) return
    // A node that says hello has just (re)connected: it learns our interest from our answer.
    if (a.k === "hello") this.announceAll(false)
    else this.remote.apply(a, Date.now())
  }

  /** Our whole interest; with `hello`, also asks every other node for theirs. */
  private announceAll(hello: boolean): void {
    this.announce({ o: this.nodeId, k: "all", t: this.hub.topics().map(topicKey) })
    if (hello) this.announce({ o: this.nodeId, k: "hello" })
  }

  private announce(a: Announcement): void {
    if (this.closed || this.publisher.status !== "ready") return
    this.publisher.publish(CONTROL, JSON.stringify(a)).catch(() => {})
  }

  private reopen(): void {
    const topics = this.hub.topics()
    const channels = [CONTROL, ...topics.filter((t) => t._tag === "Sensor").map(channelOf)]
    const patterns = topics.filter((t) => t._tag === "Prefix").map(channelOf)
    const commands: Array<Promise<unknown>> = []
    commands.push(this.subscriber.subscribe(...channels))
    if (patterns.length > 0) commands.push(this.subscriber.psubscribe(...patterns))
    Promise.all(commands).then(
      () => {
        this.announceAll(true)
        this.setHealthy(true)
      },
      () => this.setHealthy(false)
    )
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return
    this.healthy = healthy
    this.options.onHealth(healthy)
  }
}
