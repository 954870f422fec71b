import { describe, expect, it } from "@effect/vitest"
import { LiveHub, type LiveSink } from "../../src/live/live-hub.js"
import type { LiveItem, LiveTopic } from "../../src/live/live-item.js"

const readings = (sensor: string): LiveItem => ({ _tag: "Readings", sensor, ts: [1], values: [1], quality: [0], receivedAt: 0 })
const sink = () => {
  const got: Array<[string, boolean]> = []
  const s: LiveSink = { deliver: (item, viaPrefix) => got.push([item.sensor, viaPrefix]) }
  return { s, got }
}
const sensor = (id: string): LiveTopic => ({ _tag: "Sensor", sensor: id })
const prefix = (p: string): LiveTopic => ({ _tag: "Prefix", prefix: p })

describe("live hub", () => {
  it("opens a topic upstream on its first subscriber and closes it after its last", () => {
    const changes: Array<string> = []
    const hub = new LiveHub((t, open) => changes.push(`${open ? "+" : "-"}${t._tag === "Sensor" ? t.sensor : `${t.prefix}*`}`))
    const a = sink()
    const b = sink()
    hub.subscribe(sensor("s1"), a.s)
    hub.subscribe(sensor("s1"), b.s)
    hub.subscribe(prefix("site-7/"), a.s)
    hub.unsubscribe(sensor("s1"), a.s)
    hub.unsubscribe(sensor("s1"), a.s)
    hub.unsubscribe(sensor("s1"), b.s)
    hub.unsubscribe(prefix("site-7/"), a.s)
    expect(changes).toEqual(["+s1", "+site-7/*", "-s1", "-site-7/*"])
  })

  it("matches sensors by exact id and by prefix, telling prefix deliveries apart", () => {
    const hub = new LiveHub()
    const a = sink()
    hub.subscribe(sensor("site-7/pump"), a.s)
    hub.subscribe(prefix("site-7/"), a.s)
    hub.subscribe(prefix("site-"), a.s)
    expect(hub.watched("site-7/pump")).toBe(true)
    expect(hub.watched("site-9")).toBe(true)
    expect(hub.watched("other")).toBe(false)
    hub.deliver(readings("site-7/pump"))
    expect(a.got).toEqual([
      ["site-7/pump", false],
      ["site-7/pump", true],
      ["site-7/pump", true]
    ])
  })

  it("keeps a prefix within its tenant: the default tenant's acme* never covers tenant acme's sensors", () => {
    const hub = new LiveHub()
    const outsider = sink()
    const acme = sink()
    hub.subscribe(prefix("acme"), outsider.s)
    hub.subscribe(prefix("a"), outsider.s)
    hub.subscribe(prefix("acme~site-"), acme.s)
    expect(hub.watched("acme~site-1")).toBe(true)
    expect(hub.watched("acme~pump")).toBe(false)
    expect(hub.watched("acme-plant/pump")).toBe(true)
    hub.deliver(readings("acme~site-1"))
    hub.deliver(readings("acme~pump"))
    hub.deliver(readings("acme-plant/pump"))
    // The way a Redis pattern message arrives: straight to the prefix topic.
    hub.deliverToPrefix("acme", readings("acme~site-2"))
    expect(acme.got).toEqual([["acme~site-1", true]])
    expect(outsider.got).toEqual([
      ["acme-plant/pump", true],
      ["acme-plant/pump", true]
    ])
  })

  it("forgets prefix lengths nobody uses any more", () => {
    const hub = new LiveHub()
    const a = sink()
    hub.subscribe(prefix("ab"), a.s)
    hub.unsubscribe(prefix("ab"), a.s)
    expect(hub.watched("abc")).toBe(false)
    expect(hub.topics()).toEqual([])
  })
})
