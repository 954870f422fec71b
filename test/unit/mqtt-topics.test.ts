import { describe, expect, it } from "vitest"
import { acksTopic, deviceOf, isReplyTopic, readingsFilter } from "../../src/mqtt/topics.js"

describe("MQTT topics", () => {
  it("subscribe every node in one shared group to every device's readings", () => {
    expect(readingsFilter("flowmesh", "flowmesh")).toBe("$share/flowmesh/flowmesh/+/readings")
    expect(readingsFilter("plant-3/flowmesh", "nodes")).toBe("$share/nodes/plant-3/flowmesh/+/readings")
  })

  it("name the device of a readings topic, and nothing else", () => {
    expect(deviceOf("flowmesh", "flowmesh/gw-7/readings")).toBe("gw-7")
    expect(deviceOf("plant-3/flowmesh", "plant-3/flowmesh/gw-7/readings")).toBe("gw-7")
    for (const other of ["flowmesh//readings", "flowmesh/a/b/readings", "flowmesh/gw-7/acks", "other/gw-7/readings", "flowmeshx/gw-7/readings", "flowmesh/readings", "flowmesh/out/readings"]) {
      expect(deviceOf("flowmesh", other)).toBeNull()
    }
  })

  it("answer on the device's acks topic, or on a response topic it may name under its own topics", () => {
    expect(acksTopic("flowmesh", "gw-7")).toBe("flowmesh/gw-7/acks")
    expect(isReplyTopic("flowmesh", "gw-7", "flowmesh/gw-7/acks")).toBe(true)
    expect(isReplyTopic("flowmesh", "gw-7", "flowmesh/gw-7/replies/42")).toBe(true)
    const bad = [
      "",
      "flowmesh/gw-7/",
      "flowmesh/gw-7/+",
      "flowmesh/gw-7/#",
      "flowmesh/gw-7/readings",
      "flowmesh/gw-8/acks",
      "flowmesh/out/s-1",
      "replies/gw-7",
      "$SYS/x",
      "flowmesh/gw-7/a\u0000b"
    ]
    for (const topic of bad) expect(isReplyTopic("flowmesh", "gw-7", topic), topic).toBe(false)
  })
})
