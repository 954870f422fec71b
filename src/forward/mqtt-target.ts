/**
 * The MQTT target: each committed reading is published to `<MQTT_TOPIC_PREFIX>/out/<sensor>` as
 * `{"sensor","ts","value","quality"}`, at FORWARD_MQTT_QOS, retained when FORWARD_MQTT_RETAIN is on
 * (a SCADA that subscribes later reads each sensor's last value at once). It has its own broker
 * connection (MQTT_URL, MQTT_USERNAME / MQTT_PASSWORD, a clean session), apart from the edge's, so
 * publishing never competes with taking devices' messages. Nothing is published while it is
 * disconnected (MQTT.js would otherwise queue without bound): the lane's queue holds the readings.
 * At QoS 0 a batch is encoded by publish-packets.ts and written to the connection's socket at once.
 */
import { randomUUID } from "node:crypto"
import { Effect, Option, Redacted } from "effect"
import { connect, type IClientOptions, type IClientPublishOptions } from "mqtt"
import type { AppConfigShape } from "../config.js"
import type { BatchOutcome, TargetDriver } from "./forward-lane.js"
import { PublishBatch } from "./publish-packets.js"
import { outPayload, outTopic } from "./reading-encoding.js"

export const mqttTarget = (url: string, mqtt: AppConfigShape["mqtt"], forward: AppConfigShape["forward"]) =>
  Effect.gen(function* () {
    const options: IClientOptions = {
      protocolVersion: 5,
      // Its own id beside the edge's sessions (<id>-<n>): a clean session, so a fresh one per start is fine.
      clientId: `${Option.getOrElse(mqtt.clientId, () => "flowmesh")}-out-${randomUUID().slice(0, 8)}`,
      clean: true,
      reconnectPeriod: mqtt.reconnectMs,
      connectTimeout: 10_000,
      queueQoSZero: false,
      log: () => {},
      ...(Option.isSome(mqtt.username) ? { username: mqtt.username.value } : {}),
      ...(Option.isSome(mqtt.password) ? { password: Redacted.value(mqtt.password.value) } : {})
    }
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const c = connect(url, options)
        // Connection errors end in "close" and a reconnect; the lane reports the outage.
        c.on("error", () => {})
        return c
      }),
      (c) => Effect.promise(() => c.endAsync().catch(() => undefined))
    )
    const publishOptions: IClientPublishOptions = { qos: forward.mqttQos, retain: forward.mqttRetain }
    const prefix = mqtt.topicPrefix
    const timeoutMs = forward.sendTimeoutMs

    /** Publishes a batch and waits for each message to be written (QoS 0) or acknowledged (QoS 1). */
    const send = (queue: Parameters<TargetDriver["send"]>[0], max: number) =>
      Effect.async<BatchOutcome>((resume) => {
        let n = 0
        let sent = 0
        let outstanding = 0
        let drained = false
        let settled = false
        let error: string | null = null
        let timer: NodeJS.Timeout | undefined
        let busyMs = 0
        const finish = () => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resume(Effect.succeed({ sent, failed: n - sent, error: n === sent ? null : (error ?? "not confirmed"), busyMs }))
        }
        // One callback for the whole batch, not a closure per message.
        const done = (e?: Error) => {
          if (settled) return
          if (e === undefined || e === null) sent++
          else error = e.message
          outstanding--
          if (drained && outstanding === 0) finish()
        }
        const startedAt = performance.now()
        n = queue.drain(max, (sensor, ts, value, quality) => {
          outstanding++
          client.publish(outTopic(prefix, sensor), outPayload(sensor, ts, value, quality), publishOptions, done)
        })
        // Each publish is encoded and written in the call: the batch's own time on the event loop ends here.
        busyMs = performance.now() - startedAt
        drained = true
        if (outstanding === 0) return finish()
        timer = setTimeout(() => {
          error = `the broker did not confirm ${n - sent} of ${n} messages within ${timeoutMs} ms`
          finish()
        }, timeoutMs)
        return Effect.sync(() => {
          settled = true
          clearTimeout(timer)
        })
      })

    /** QoS 0: the batch's packets encoded in one buffer and written at once, confirmed when the socket took them. */
    const sendAtMostOnce = (queue: Parameters<TargetDriver["send"]>[0], max: number) =>
      Effect.async<BatchOutcome>((resume) => {
        const startedAt = performance.now()
        const batch = new PublishBatch(forward.mqttRetain)
        const n = queue.drain(max, (sensor, ts, value, quality) => batch.add(outTopic(prefix, sensor), outPayload(sensor, ts, value, quality)))
        const bytes = batch.encode()
        let busyMs = 0
        client.stream.write(bytes, (error?: Error | null) =>
          resume(Effect.succeed(error === undefined || error === null ? { sent: n, failed: 0, error: null, busyMs } : { sent: 0, failed: n, error: error.message, busyMs }))
        )
        busyMs = performance.now() - startedAt
      })

    const driver: TargetDriver = {
      name: "mqtt",
      where: `MQTT ${url} ${prefix}/out/#`,
      ready: () => client.connected,
      send: forward.mqttQos === 0 ? sendAtMostOnce : send
    }
    return driver
  })
