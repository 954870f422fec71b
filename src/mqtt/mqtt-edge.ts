/**
 * The MQTT edge: devices publish readings through a broker, and every node takes them from one
 * MQTT 5 shared subscription (`$share/<group>/<prefix>/+/readings`), so the broker splits the
 * devices' messages between the nodes and hands a dead node's unacknowledged ones to the others.
 *
 * A message's payload is an HTTP ingest body (one reading, an array, or `{readings}`) and goes
 * through the same flow as HTTP (ingest-flow.ts): same validation, same gateway, same verdicts.
 * QoS 1 is acknowledged (PUBACK) only once its readings are committed; QoS 0 once the actors have
 * decided them. The verdict (the HTTP 202 body, or the error body of a 4xx) is published to the
 * message's MQTT 5 response topic, else to `<prefix>/<device>/acks`, with its correlation data.
 *
 * Each connection carries up to MQTT_RECEIVE_MAXIMUM unacknowledged messages at a time (the MQTT 5
 * receive maximum the broker must respect), so a flood waits at the broker, not in the node; they
 * are handed to the gateway in arrival order, meet in the writer's group commits, and are
 * acknowledged in arrival order as MQTT requires (ordered-acks.ts). When the node cannot take a message (overloaded, database down),
 * it holds it unacknowledged and tries again after Retry-After: that too queues at the broker.
 * A broker that is down or restarts touches nothing else: the connections retry every
 * MQTT_RECONNECT_MS, `/ready` reports them, and the metrics count them.
 */
import { hostname } from "node:os"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt"
import { AppConfig } from "../config.js"
import { MqttStatus } from "../telemetry/mqtt-status.js"
import { mqttConnected, mqttHeld, mqttMessages, mqttReconnects, mqttReplies, mqttRetries } from "../telemetry/metrics.js"
import { OrderedAcks } from "./ordered-acks.js"
import { acksTopic, deviceOf, isReplyTopic, readingsFilter } from "./topics.js"

/**
 * The ingest flow the edge hands each message to, built by app.ts from the HTTP edge's (the same
 * decoding, gateway and verdicts): `durable` for QoS 1, and the answer's status and body.
 */
export class MqttIngest extends Context.Tag("flowmesh/MqttIngest")<
  MqttIngest,
  {
    /** `device`: the topic's device level (with AUTH_MODE=required, a device key's id). */
    readonly take: (text: string, device: string, durable: boolean, receivedAt: number, done: (status: number, body: unknown) => void) => void
  }
>() {}

type SendPacket = (
  packet: { readonly cmd: string; readonly messageId?: number },
  cb?: (error?: Error) => void,
  cbStorePut?: () => void,
  noStore?: boolean
) => void

/**
 * Holds a connection's writes until the end of this turn of the event loop (its check phase): the verdicts and
 * PUBACKs of one group commit leave in one system call, not one each (measured: socket writes were
 * an eighth of the node's time at one reading per message).
 */
const corked = (client: MqttClient): void => {
  const stream = client.stream
  if (stream.writableCorked > 0) return
  stream.cork()
  setImmediate(() => stream.uncork())
}

const SHUTDOWN_WAIT_MS = 10_000
const QUIET_MS = 200

export const MqttEdgeLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { mqtt } = yield* AppConfig
    if (Option.isNone(mqtt.url)) return Layer.succeed(MqttStatus, MqttStatus.make({ connected: () => null }))
    const url = mqtt.url.value
    return Layer.scoped(
      MqttStatus,
      Effect.gen(function* () {
        const { ingest, port } = yield* AppConfig
        const flow = yield* MqttIngest
        const prefix = mqtt.topicPrefix
        const filter = readingsFilter(prefix, mqtt.shareGroup)
        const retryAfterMs = ingest.retryAfterSeconds * 1000
        const base = Option.getOrElse(mqtt.clientId, () =>
          port === 0 ? `flowmesh-${process.pid.toString(36)}${Date.now().toString(36)}` : `flowmesh-${hostname()}-${port}`
        )
        let up = 0
        let inflight = 0
        let closing = false
        let lastTaken = 0
        const timers = new Set<NodeJS.Timeout>()
        mqttConnected.set(0)

        const reply = (client: MqttClient, packet: IPublishPacket, device: string, status: number, body: unknown) => {
          const named = packet.properties?.responseTopic
          const topic = named !== undefined && isReplyTopic(prefix, device, named) ? named : acksTopic(prefix, device)
          const correlationData = packet.properties?.correlationData
          corked(client)
          client.publish(topic, JSON.stringify(body), {
            qos: 0,
            properties: { userProperties: { status: String(status) }, ...(correlationData === undefined ? {} : { correlationData }) }
          })
          mqttReplies.inc()
        }

        const finished = () => {
          inflight--
          mqttHeld.dec()
        }

        /** One message, from its receipt to its acknowledgement (`ack`: MQTT.js then sends the PUBACK). */
        const take = (client: MqttClient, packet: IPublishPacket, ack: () => void) => {
          inflight++
          mqttHeld.inc()
          const receivedAt = Date.now()
          lastTaken = receivedAt
          const qos1 = packet.qos > 0
          const device = deviceOf(prefix, packet.topic)
          if (device === null) {
            // The subscription only names readings topics; a topic alias could still name another.
            ;(qos1 ? mqttMessages.qos1Refused : mqttMessages.qos0Refused).inc()
            finished()
            return ack()
          }
          const text = typeof packet.payload === "string" ? packet.payload : packet.payload.toString("utf8")
          const attempt = () =>
            flow.take(text, device, qos1, receivedAt, (status, body) => {
              if (status === 503) {
                mqttRetries.inc()
                if (closing) return finished() // unacknowledged: the broker hands it to another node
                const timer = setTimeout(() => {
                  timers.delete(timer)
                  attempt()
                }, retryAfterMs)
                timers.add(timer)
                return
              }
              reply(client, packet, device, status, body)
              const taken = status === 202
              ;(qos1 ? (taken ? mqttMessages.qos1Acked : mqttMessages.qos1Refused) : taken ? mqttMessages.qos0Acked : mqttMessages.qos0Refused).inc()
              finished()
              ack()
            })
          attempt()
        }

        const options = (i: number): IClientOptions => ({
          protocolVersion: 5,
          clientId: `${base}-${i}`,
          // A session the broker keeps: what this node had not acknowledged is handed to it again when it comes back.
          clean: mqtt.sessionExpirySeconds === 0,
          resubscribe: false,
          reconnectPeriod: mqtt.reconnectMs,
          connectTimeout: 10_000,
          // MQTT.js formats a debug line per packet unless told not to log (1.5% of the node at one reading per message).
          log: () => {},
          ...(Option.isSome(mqtt.username) ? { username: mqtt.username.value } : {}),
          ...(Option.isSome(mqtt.password) ? { password: Redacted.value(mqtt.password.value) } : {}),
          properties: { sessionExpiryInterval: mqtt.sessionExpirySeconds, receiveMaximum: mqtt.receiveMaximum, maximumPacketSize: mqtt.maxPayloadBytes + 65_536 }
        })

        const clients = Array.from({ length: mqtt.connections }, (_, i) => {
          const client = connect(url, options(i))
          let connected = false
          // MQTT.js reads a connection's next message only once `handleMessage` calls back, and then
          // sends the PUBACK itself. The node calls back at once, so that the connection carries up to
          // MQTT_RECEIVE_MAXIMUM messages at a time (meeting in the writer's group commits), holds that
          // PUBACK, and sends each message's own once it is answered, in arrival order (OrderedAcks).
          const internals = client as unknown as { _sendPacket: SendPacket }
          const sendPacket = internals._sendPacket.bind(client)
          let arriving: number | undefined
          internals._sendPacket = (packet, cb, cbStorePut, noStore) => {
            if (packet.cmd === "puback" && packet.messageId === arriving) return cb?.()
            return sendPacket(packet, cb, cbStorePut, noStore)
          }
          const acks = new OrderedAcks((messageId) => {
            if (!client.connected) return
            corked(client)
            sendPacket({ cmd: "puback", messageId }, undefined, undefined, true)
          })
          client.handleMessage = (packet, callback) => {
            const messageId = packet.messageId
            if (packet.qos === 0 || messageId === undefined) {
              take(client, packet, () => {})
              return callback()
            }
            // Handed on before MQTT.js may read the next message: the gateway sees them in arrival order.
            take(client, packet, acks.hold(messageId))
            arriving = messageId
            callback()
            arriving = undefined
          }
          client.on("connect", () => {
            connected = true
            up++
            mqttConnected.set(up)
            client.subscribe(filter, { qos: 1 }, (error) => {
              if (error !== null && error !== undefined) Effect.runFork(Effect.logWarning("MQTT subscription refused", { filter, error: error.message }))
            })
          })
          client.on("close", () => {
            // Unacknowledged messages come again on the next connection, maybe under reused packet ids.
            acks.reset()
            if (!connected) return
            connected = false
            up--
            mqttConnected.set(up)
          })
          client.on("reconnect", () => mqttReconnects.inc())
          // Connection errors end in "close" and a reconnect; the first of a run is logged.
          client.on("error", (error) => {
            if (i === 0 && connected) Effect.runFork(Effect.logWarning("MQTT broker connection failed", { url, error: error.message }))
          })
          return client
        })
        yield* Effect.logInfo("MQTT edge subscribing", { url, filter, connections: mqtt.connections })

        yield* Effect.addFinalizer(() =>
          Effect.promise(async () => {
            closing = true
            // The broker stops handing this node messages; those it already sent are answered.
            await Promise.all(clients.map((c) => (c.connected ? c.unsubscribeAsync(filter).catch(() => undefined) : undefined)))
            for (const t of timers) clearTimeout(t)
            const held = timers.size
            inflight -= held
            mqttHeld.dec(held)
            timers.clear()
            // Messages MQTT.js had read but not yet handed over arrive one after the other: wait for a quiet moment.
            const deadline = Date.now() + SHUTDOWN_WAIT_MS
            while (Date.now() < deadline && (inflight > 0 || Date.now() - lastTaken < QUIET_MS)) await new Promise((r) => setTimeout(r, 20))
            const unanswered = held + inflight
            for (const c of clients) c.handleMessage = (_packet, _callback) => {}
            // Everything answered: the sessions can go (a node that does not come back leaves nothing queued
            // for it). Otherwise they stay for MQTT_SESSION_EXPIRY_SECONDS, for this node to come back to.
            const disconnect = unanswered === 0 ? { properties: { sessionExpiryInterval: 0 } } : {}
            await Promise.all(clients.map((c) => c.endAsync(false, disconnect).catch(() => undefined)))
            mqttConnected.set(0)
          })
        )
        return MqttStatus.make({ connected: () => up })
      })
    )
  })
)
