import { describe, expect, it } from "@effect/vitest"
import { decodeAnnouncement, RemoteInterest } from "../../src/live/remote-interest.js"

describe("remote interest", () => {
  it("follows each node's watch and unwatch, by sensor and by prefix", () => {
    const r = new RemoteInterest()
    r.apply({ o: "b", k: "watch", t: ["s-1", "site-7/*"] }, 0)
    expect(r.watched("s-1")).toBe(true)
    expect(r.watched("site-7/pump")).toBe(true)
    expect(r.watched("s-2")).toBe(false)
    r.apply({ o: "b", k: "unwatch", t: ["s-1"] }, 1)
    expect(r.watched("s-1")).toBe(false)
  })

  it("keeps a topic while any node watches it", () => {
    const changes: Array<boolean> = []
    const r = new RemoteInterest((open) => changes.push(open))
    r.apply({ o: "b", k: "watch", t: ["s-1"] }, 0)
    r.apply({ o: "c", k: "watch", t: ["s-1"] }, 0)
    r.apply({ o: "b", k: "unwatch", t: ["s-1"] }, 0)
    expect(r.watched("s-1")).toBe(true)
    r.apply({ o: "c", k: "unwatch", t: ["s-1"] }, 0)
    expect(r.watched("s-1")).toBe(false)
    expect(changes).toEqual([true, false])
  })

  it("a full announcement replaces what the node watched", () => {
    const r = new RemoteInterest()
    r.apply({ o: "b", k: "watch", t: ["s-1", "s-2"] }, 0)
    r.apply({ o: "b", k: "all", t: ["s-2", "s-3"] }, 1)
    expect(["s-1", "s-2", "s-3"].map((s) => r.watched(s))).toEqual([false, true, true])
  })

  it("forgets a node that stopped announcing", () => {
    const r = new RemoteInterest()
    r.apply({ o: "b", k: "all", t: ["s-1"] }, 1_000)
    r.apply({ o: "c", k: "all", t: ["s-2"] }, 5_000)
    r.expire(2_000)
    expect(r.watched("s-1")).toBe(false)
    expect(r.watched("s-2")).toBe(true)
  })

  it("reads announcements and refuses anything else", () => {
    expect(decodeAnnouncement(`{"o":"b","k":"watch","t":["a","b*"]}`)).toEqual({ o: "b", k: "watch", t: ["a", "b*"] })
    expect(decodeAnnouncement(`{"o":"b","k":"hello"}`)).toEqual({ o: "b", k: "hello" })
    expect(decodeAnnouncement(`{"o":"b","k":"watch","t":[1]}`)).toBeNull()
    expect(decodeAnnouncement("nope")).toBeNull()
  })
})
