import fc from "fast-check"
import * as mqttPacket from "mqtt-packet"
import { describe, expect, it } from "vitest"
import { PublishBatch } from "../../src/forward/publish-packets.js"

/** The reference encoding: the packet library MQTT.js itself uses. */
const reference = (topic: string, payload: string, retain: boolean): Buffer =>
  mqttPacket.generate({ cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, dup: false, retain, properties: {} }, { protocolVersion: 5 })

const parseAll = (bytes: Buffer) => {
  const parser = mqttPacket.parser({ protocolVersion: 5 })
  const packets: Array<mqttPacket.IPublishPacket> = []
  parser.on("packet", (p) => packets.push(p as mqttPacket.IPublishPacket))
  parser.on("error", (e) => {
    throw e
  })
  parser.parse(bytes)
  return packets
}

describe("MQTT 5 PUBLISH packets at QoS 0", () => {
  it("encodes a packet byte for byte as mqtt-packet does", () => {
    for (const retain of [false, true]) {
      const batch = new PublishBatch(retain)
      batch.add("flowmesh/out/site-7/pump-1", '{"sensor":"site-7/pump-1","ts":1,"value":4.2,"quality":"good"}')
      expect(batch.encode()).toEqual(reference("flowmesh/out/site-7/pump-1", '{"sensor":"site-7/pump-1","ts":1,"value":4.2,"quality":"good"}', retain))
    }
  })

  it("encodes any batch as the concatenation of its packets, which a parser reads back (multi-byte lengths and UTF-8 included)", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 300, unit: "grapheme" }).filter((t) => !t.includes("+") && !t.includes("#") && !t.includes("\u0000")), fc.string({ maxLength: 20_000, unit: "grapheme" })), { maxLength: 8 }),
        (retain, messages) => {
          const batch = new PublishBatch(retain)
          for (const [topic, payload] of messages) batch.add(topic, payload)
          const bytes = batch.encode()
          expect(bytes).toEqual(Buffer.concat(messages.map(([topic, payload]) => reference(topic, payload, retain))))
          expect(parseAll(bytes).map((p) => [p.topic, p.payload.toString(), p.retain, p.qos])).toEqual(messages.map(([t, p]) => [t, p, retain, 0]))
          expect(batch.size).toBe(messages.length)
        }
      ),
      { numRuns: 200 }
    )
  })
})
