/**
 * Which topics the other nodes watch, learnt from what they announce on a control channel, so that
 * a node publishes only the sensors somebody elsewhere watches (publishing every accepted batch
 * would make Redis carry all of ingestion). Each node announces a topic when it opens or closes it,
 * its whole set on (re)connect and every `reannounceMs`, and asks the others for theirs when it
 * connects; a node not heard from for three periods is forgotten (it crashed). Plain data, no I/O.
 */
import { LiveHub, type LiveSink } from "./live-hub.js"
import { type LiveTopic, topicKey } from "./live-item.js"
import { parseNodeMessage } from "./node-message.js"

export type Announcement =
  | { readonly o: string; readonly k: "watch" | "unwatch" | "all"; readonly t: ReadonlyArray<string> }
  | { readonly o: string; readonly k: "hello" }

export const topicOfKey = (key: string): LiveTopic =>
  key.endsWith("*") ? { _tag: "Prefix", prefix: key.slice(0, -1) } : { _tag: "Sensor", sensor: key }

export const decodeAnnouncement = (text: string): Announcement | null => {
  const u = parseNodeMessage(text)
  if (u === null) return null
  if (u.k === "hello") return { o: u.o, k: "hello" }
  if ((u.k === "watch" || u.k === "unwatch" || u.k === "all") && "t" in u && Array.isArray(u.t) && u.t.every((t) => typeof t === "string")) {
    return { o: u.o, k: u.k, t: u.t }
  }
  return null
}

interface RemoteNode {
  readonly sink: LiveSink
  readonly topics: Map<string, LiveTopic>
  seenAt: number
}

const noDelivery: LiveSink["deliver"] = () => {}

export class RemoteInterest {
  private readonly hub: LiveHub
  private readonly nodes = new Map<string, RemoteNode>()

  constructor(onTopicChange: (open: boolean) => void = () => {}) {
    this.hub = new LiveHub((_, open) => onTopicChange(open))
  }

  /** Applies another node's announcement (`hello` carries no topics: the caller answers it). */
  apply(a: Announcement, now: number): void {
    if (a.k === "hello") return
    let node = this.nodes.get(a.o)
    if (node === undefined) {
      node = { sink: { deliver: noDelivery }, topics: new Map(), seenAt: now }
      this.nodes.set(a.o, node)
    }
    node.seenAt = now
    if (a.k === "all") {
      const keep = new Set(a.t)
      for (const [key, topic] of node.topics) {
        if (keep.has(key)) continue
        node.topics.delete(key)
        this.hub.unsubscribe(topic, node.sink)
      }
    }
    for (const key of a.t) {
      const topic = topicOfKey(key)
      if (a.k === "unwatch") {
        if (node.topics.delete(key)) this.hub.unsubscribe(topic, node.sink)
      } else if (!node.topics.has(topicKey(topic))) {
        node.topics.set(key, topic)
        this.hub.subscribe(topic, node.sink)
      }
    }
  }

  /** Forgets nodes not heard from since `before` (their announcements stopped: they are gone). */
  expire(before: number): void {
    for (const [id, node] of this.nodes) {
      if (node.seenAt >= before) continue
      for (const topic of node.topics.values()) this.hub.unsubscribe(topic, node.sink)
      this.nodes.delete(id)
    }
  }

  watched(sensor: string): boolean {
    return this.hub.watched(sensor)
  }
}
