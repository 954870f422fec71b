/**
 * MQTT 5 PUBLISH packets at QoS 0, a batch of them encoded into one buffer for one socket write.
 * MQTT.js encodes a publish in several small writes and a callback each, which made forwarding
 * cost more of the node than the readings it forwards (measured); a QoS 0 PUBLISH is five fields:
 * the fixed header (type, retain), the remaining length, the topic, an empty property list, and the
 * payload (MQTT 5.0, sections 3.3.1 to 3.3.3). QoS 1 publishes stay with MQTT.js, which tracks
 * their packet ids and acknowledgements.
 */

const varIntLength = (n: number): number => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4)

const writeVarInt = (buf: Buffer, at: number, n: number): number => {
  let x = n
  let i = at
  do {
    let byte = x % 128
    x = Math.floor(x / 128)
    if (x > 0) byte |= 0x80
    buf[i++] = byte
  } while (x > 0)
  return i
}

export class PublishBatch {
  private readonly topics: Array<string> = []
  private readonly payloads: Array<string> = []

  constructor(private readonly retain: boolean) {}

  add(topic: string, payload: string): void {
    this.topics.push(topic)
    this.payloads.push(payload)
  }

  get size(): number {
    return this.topics.length
  }

  /** Every packet added, back to back. */
  encode(): Buffer {
    const n = this.topics.length
    const topicBytes = new Array<number>(n)
    const payloadBytes = new Array<number>(n)
    let total = 0
    for (let i = 0; i < n; i++) {
      const t = Buffer.byteLength(this.topics[i]!)
      const p = Buffer.byteLength(this.payloads[i]!)
      topicBytes[i] = t
      payloadBytes[i] = p
      // topic length (2) + topic + property length (1: none) + payload
      const remaining = 2 + t + 1 + p
      total += 1 + varIntLength(remaining) + remaining
    }
    const buf = Buffer.allocUnsafe(total)
    const first = this.retain ? 0x31 : 0x30
    let at = 0
    for (let i = 0; i < n; i++) {
      const t = topicBytes[i]!
      const p = payloadBytes[i]!
      buf[at++] = first
      at = writeVarInt(buf, at, 2 + t + 1 + p)
      buf.writeUInt16BE(t, at)
      at += 2
      at += buf.write(this.topics[i]!, at, t, "utf8")
      buf[at++] = 0
      at += buf.write(this.payloads[i]!, at, p, "utf8")
    }
    return buf
  }
}
