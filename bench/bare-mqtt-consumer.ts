/**
 * The MQTT ceiling of this machine for the device fleet's message shapes: one MQTT.js connection
 * in the shared subscription, as a node has, that JSON.parses each message, counts its readings,
 * answers the verdict a node would (on the response topic, with the correlation data) and
 * acknowledges at once. No validation, no actors, no database: what the load generator and the
 * broker can carry, the MQTT analogue of bare-http-server.ts. Run as a child of the bench: MQTT_URL,
 * MQTT_TOPIC_PREFIX and MQTT_RECEIVE_MAXIMUM from the environment; PORT answers 200 once subscribed.
 */
import { createServer } from "node:http"
import { connect } from "mqtt"

const port = Number(process.env.PORT ?? "0")
const prefix = process.env.MQTT_TOPIC_PREFIX ?? "flowmesh"
let subscribed = false
let checksum = 0

const countOf = (text: string): number => {
  const body: unknown = JSON.parse(text)
  const readings = Array.isArray(body) ? body : typeof body === "object" && body !== null && "readings" in body ? (body as { readings: unknown }).readings : [body]
  if (!Array.isArray(readings)) return 0
  for (const r of readings as Array<{ value?: unknown }>) if (typeof r.value === "number") checksum += r.value
  return readings.length
}

const client = connect(process.env.MQTT_URL ?? "mqtt://127.0.0.1:1883", {
  protocolVersion: 5,
  clientId: `bare-consumer-${process.pid}`,
  clean: true,
  properties: { receiveMaximum: Number(process.env.MQTT_RECEIVE_MAXIMUM ?? "256") }
})
client.on("connect", () => client.subscribe(`$share/bare/${prefix}/+/readings`, { qos: 1 }, () => {
  subscribed = true
}))
client.handleMessage = (packet, callback) => {
  const device = packet.topic.split("/").at(-2) ?? ""
  const accepted = countOf(packet.payload.toString("utf8"))
  const correlationData = packet.properties?.correlationData
  client.publish(packet.properties?.responseTopic ?? `${prefix}/${device}/acks`, `{"accepted":${accepted},"durable":true,"suspect":[],"rejected":[]}`, {
    qos: 0,
    properties: { userProperties: { status: "202" }, ...(correlationData === undefined ? {} : { correlationData }) }
  })
  callback()
}

const server = createServer((_req, res) => {
  res.writeHead(subscribed ? 200 : 503, { "content-type": "text/plain" })
  res.end(String(checksum))
})
server.listen(port, "127.0.0.1")
process.on("SIGTERM", () => {
  client.end(true)
  server.close()
})
