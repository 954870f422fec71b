/**
 * Who on this node watches which sensor. Subscriptions are reference-counted per topic: the first
 * subscriber of a topic opens it upstream (a Redis channel when there is one), the last one closes
 * it, whatever the number of dashboards in between. A prefix covers sensors of its own tenant only
 * (`domain/tenancy.ts`), whichever way an item arrives. Plain data and callbacks, no Effect.
 */
import { prefixCrossesTenant } from "../domain/tenancy.js"
import type { LiveItem, LiveTopic } from "./live-item.js"

export interface LiveSink {
  /** `viaPrefix`: the item matched a prefix subscription (a sink also watching the sensor itself skips it). */
  readonly deliver: (item: LiveItem, viaPrefix: boolean) => void
}

export type TopicChange = (topic: LiveTopic, open: boolean) => void

export class LiveHub {
  private readonly sensors = new Map<string, Set<LiveSink>>()
  private readonly prefixes = new Map<string, Set<LiveSink>>()
  /** Distinct prefix lengths in use, with how many prefixes have each: matching costs one lookup per length. */
  private readonly prefixLengths = new Map<number, number>()

  constructor(private readonly onTopicChange: TopicChange = () => {}) {}

  subscribe(topic: LiveTopic, sink: LiveSink): void {
    const [map, key] = topic._tag === "Sensor" ? [this.sensors, topic.sensor] : [this.prefixes, topic.prefix]
    let sinks = map.get(key)
    if (sinks === undefined) {
      sinks = new Set()
      map.set(key, sinks)
      if (topic._tag === "Prefix") this.prefixLengths.set(key.length, (this.prefixLengths.get(key.length) ?? 0) + 1)
      this.onTopicChange(topic, true)
    }
    sinks.add(sink)
  }

  unsubscribe(topic: LiveTopic, sink: LiveSink): void {
    const [map, key] = topic._tag === "Sensor" ? [this.sensors, topic.sensor] : [this.prefixes, topic.prefix]
    const sinks = map.get(key)
    if (sinks === undefined || !sinks.delete(sink) || sinks.size > 0) return
    map.delete(key)
    if (topic._tag === "Prefix") {
      const left = (this.prefixLengths.get(key.length) ?? 1) - 1
      if (left === 0) this.prefixLengths.delete(key.length)
      else this.prefixLengths.set(key.length, left)
    }
    this.onTopicChange(topic, false)
  }

  /** Whether anyone on this node watches the sensor: O(1) plus one lookup per distinct prefix length. */
  watched(sensor: string): boolean {
    if (this.sensors.has(sensor)) return true
    for (const length of this.prefixLengths.keys()) {
      if (length > sensor.length) continue
      const prefix = sensor.slice(0, length)
      if (this.prefixes.has(prefix) && !prefixCrossesTenant(prefix, sensor)) return true
    }
    return false
  }

  /** Delivers an item published on this node to every local sink watching its sensor. */
  deliver(item: LiveItem): void {
    this.deliverToSensor(item)
    for (const length of this.prefixLengths.keys()) {
      if (length <= item.sensor.length) this.deliverToPrefix(item.sensor.slice(0, length), item)
    }
  }

  /** Delivers to the sinks of the sensor's own topic only (an item from its upstream channel). */
  deliverToSensor(item: LiveItem): void {
    const sinks = this.sensors.get(item.sensor)
    if (sinks !== undefined) for (const sink of sinks) sink.deliver(item, false)
  }

  /** Delivers to the sinks of one prefix topic only (an item from that pattern's upstream channel). */
  deliverToPrefix(prefix: string, item: LiveItem): void {
    // A Redis pattern matches textually: `acme*` also matches tenant acme's `acme~…`.
    if (prefixCrossesTenant(prefix, item.sensor)) return
    const sinks = this.prefixes.get(prefix)
    if (sinks !== undefined) for (const sink of sinks) sink.deliver(item, true)
  }

  /** Every open topic, for re-opening them upstream after a reconnect. */
  topics(): ReadonlyArray<LiveTopic> {
    const out: Array<LiveTopic> = []
    for (const sensor of this.sensors.keys()) out.push({ _tag: "Sensor", sensor })
    for (const prefix of this.prefixes.keys()) out.push({ _tag: "Prefix", prefix })
    return out
  }
}
