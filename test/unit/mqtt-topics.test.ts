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
    for (const other of ["flowmesh//readings", "flowmesh/a/b/readings", "flowmesh/gw-7/acks", "other/gw-7/readings", "flowmeshx/gw-7/readings", "flowmesh/readings"]) {
      expect(deviceOf("flowmesh", other)).toBeNull()
    }
  })

  it("answer on the device's acks topic, or on a response topic it may name", () => {
    expect(acksTopic("flowmesh", "gw-7")).toBe("flowmesh/gw-7/acks")
    expect(isReplyTopic("flowmesh", "flowmesh/gw-7/acks")).toBe(true)
    expect(isReplyTopic("flowmesh", "replies/gw-7/42")).toBe(true)
    for (const bad of ["", "a/+/b", "a/#", "$SYS/x", "flowmesh/gw-8/readings", "a\u0000b"]) expect(isReplyTopic("flowmesh", bad)).toBe(false)
  })
})
