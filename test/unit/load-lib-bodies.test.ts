import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { batchOf, deviceFrame, groupStart, readingsBody, sensorsPerRequest, subscribeFrame } from "../../load/lib/bodies.js"
import { createValueModel, sensorId } from "../../load/lib/sensors.js"

const T0 = Date.UTC(2026, 10, 23, 12)

interface Entry {
  readonly sensor: string
  readonly ts: number
  readonly value: number
}

const isEntry = (e: unknown): e is Entry =>
  typeof e === "object" &&
  e !== null &&
  Object.keys(e).sort().join() === "sensor,ts,value" &&
  "sensor" in e &&
  typeof e.sensor === "string" &&
  "ts" in e &&
  Number.isInteger(e.ts) &&
  "value" in e &&
  typeof e.value === "number" &&
  Number.isFinite(e.value)

const isBody = (body: unknown): body is { readings: Array<Entry> } =>
  typeof body === "object" &&
  body !== null &&
  Object.keys(body).join() === "readings" &&
  "readings" in body &&
  Array.isArray(body.readings) &&
  body.readings.every(isEntry)

describe("request bodies", () => {
  const shapes = fc.record({
    count: fc.integer({ min: 1, max: 300 }),
    perSensor: fc.integer({ min: 1, max: 20 }),
    first: fc.nat({ max: 10_000 }),
    sites: fc.integer({ min: 1, max: 50 }),
    stepMs: fc.integer({ min: 1, max: 1000 })
  })

  it("decode back to the contract's {readings:[{sensor,ts,value}]}, ts strictly increasing per sensor up to the send time", () => {
    fc.assert(
      fc.property(shapes, fc.nat(), ({ count, perSensor, first, sites, stepMs }, seed) => {
        const entries = batchOf(createValueModel(seed), first, count, perSensor, sites, T0, stepMs)
        const decoded: unknown = JSON.parse(readingsBody(entries))
        expect(isBody(decoded)).toBe(true)
        if (!isBody(decoded)) return
        expect(decoded.readings).toHaveLength(count)
        const bySensor = new Map<string, Array<Entry>>()
        for (const r of decoded.readings) bySensor.set(r.sensor, [...(bySensor.get(r.sensor) ?? []), r])
        expect(bySensor.size).toBe(sensorsPerRequest(count, perSensor))
        expect([...bySensor.keys()]).toEqual(Array.from({ length: bySensor.size }, (_, k) => sensorId(first + k, sites)))
        for (const own of bySensor.values()) {
          expect(own.length).toBeLessThanOrEqual(perSensor)
          expect(own.at(-1)!.ts).toBe(T0)
          for (let k = 1; k < own.length; k++) expect(own[k]!.ts - own[k - 1]!.ts).toBe(stepMs)
        }
      })
    )
  })

  it("take their values from the model at each reading's ts", () => {
    const entries = batchOf(createValueModel(4), 8, 6, 3, 10, T0, 100)
    const model = createValueModel(4)
    expect(entries.map((e) => e.value)).toEqual([8, 8, 8, 9, 9, 9].map((index, i) => model.next(index, entries[i]!.ts)))
  })

  it("walk disjoint groups of sensors, each turn coming back after all the others", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 500 }), (sensors, perRequest) => {
        const groups = Math.max(1, Math.floor(sensors / perRequest))
        const starts = Array.from({ length: groups * 2 }, (_, i) => groupStart(i, sensors, perRequest))
        expect(new Set(starts.slice(0, groups)).size).toBe(groups)
        expect(starts.slice(groups)).toEqual(starts.slice(0, groups))
        expect(starts.every((s) => s % perRequest === 0)).toBe(true)
        if (sensors >= perRequest) expect(Math.max(...starts) + perRequest).toBeLessThanOrEqual(sensors)
      })
    )
  })
})

describe("WebSocket frames", () => {
  it("a device frame is {type:'readings',seq,readings}", () => {
    const entries = [{ sensor: "site-7/pump-1", ts: T0, value: 3.2 }]
    expect(JSON.parse(deviceFrame(7, entries))).toEqual({ type: "readings", seq: 7, readings: entries })
  })

  it("a subscribe frame names ids and prefixes", () => {
    expect(JSON.parse(subscribeFrame(["site-7/pump-1", "site-8/*"]))).toEqual({
      type: "subscribe",
      sensors: ["site-7/pump-1", "site-8/*"]
    })
  })
})
