import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option } from "effect"
import { appConfig } from "../../src/config.js"

const load = (env: Record<string, string>) =>
  Effect.runSync(Effect.either(appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))))

const refusal = (env: Record<string, string>): string => {
  const result = load(env)
  return Either.isLeft(result) ? String(result.left) : "accepted"
}

describe("readings out settings", () => {
  it("are off by default, with a bounded queue", () => {
    const c = load({})
    if (Either.isLeft(c)) throw new Error(String(c.left))
    expect(c.right.forward).toMatchObject({ redisStream: Option.none(), redisMaxLen: 1_000_000, mqtt: false, mqttRetain: false, mqttQos: 0, queueReadings: 100_000 })
  })

  it("read the stream, QoS and retain as a user writes them", () => {
    const c = load({ REDIS_URL: "redis://r:6379", FORWARD_REDIS_STREAM: "iot:readings", MQTT_URL: "mqtt://b:1883", FORWARD_MQTT: "on", FORWARD_MQTT_QOS: "1", FORWARD_MQTT_RETAIN: "true" })
    if (Either.isLeft(c)) throw new Error(String(c.left))
    expect(c.right.forward).toMatchObject({ redisStream: Option.some("iot:readings"), mqtt: true, mqttRetain: true, mqttQos: 1 })
  })

  it("refuse to start when a target has nothing to forward to, naming the settings", () => {
    expect(refusal({ FORWARD_REDIS_STREAM: "iot:readings" })).toMatch(/FORWARD_REDIS_STREAM needs REDIS_URL/)
    expect(refusal({ FORWARD_MQTT: "on" })).toMatch(/FORWARD_MQTT=on needs MQTT_URL/)
  })

  it("refuse values out of range, naming the variable", () => {
    expect(refusal({ FORWARD_MQTT_QOS: "2" })).toMatch(/FORWARD_MQTT_QOS/)
    expect(refusal({ FORWARD_QUEUE_READINGS: "0" })).toMatch(/FORWARD_QUEUE_READINGS must be an integer from 100/)
    expect(refusal({ FORWARD_REDIS_MAXLEN: "abc" })).toMatch(/FORWARD_REDIS_MAXLEN/)
  })
})
