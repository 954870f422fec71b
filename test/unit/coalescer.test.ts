import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Coalescer, type FrameTicket, fail, newTicket, type SensorBatch, settle } from "../../src/http/ws/coalescer.js"
import { type InternalId, storedInternalId } from "../../src/domain/tenancy.js"
import type { InternalGroup } from "../../src/http/ws/coalescer.js"

const group = (sensor: string, values: ReadonlyArray<number>, firstIndex = 0): InternalGroup => ({
  sensor: storedInternalId(sensor),
  index: values.map((_, i) => firstIndex + i),
  ts: values.map((v) => v),
  values: [...values]
})

/** A manual clock: the test decides when the window closes. */
const manualSchedule = () => {
  const pending: Array<() => void> = []
  return {
    schedule: (f: () => void) => {
      pending.push(f)
      return () => {
        const i = pending.indexOf(f)
        if (i >= 0) pending.splice(i, 1)
      }
    },
    fire: () => {
      for (const f of pending.splice(0)) f()
    },
    armed: () => pending.length
  }
}

const owner = () => {
  const finished: Array<FrameTicket> = []
  return { finished, finish: (t: FrameTicket) => finished.push(t) }
}

describe("coalescer", () => {
  it("holds readings of one sensor from several frames until the window closes, then sends one batch", () => {
    const clock = manualSchedule()
    const sent: Array<SensorBatch> = []
    const c = new Coalescer({ windowMs: 5, maxReadings: 100 }, (bs) => sent.push(...bs), clock.schedule)
    const o = owner()
    for (let seq = 0; seq < 3; seq++) {
      c.add(group("s", [seq]), newTicket(o, seq, 1000 + seq, 1))
      c.endFrame()
    }
    expect(sent).toHaveLength(0)
    expect(clock.armed()).toBe(1)
    clock.fire()
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ sensor: "s", ts: [0, 1, 2], receivedAt: 1000 })
  })

  it("sends a sensor's batch as soon as it holds maxReadings", () => {
    const sent: Array<SensorBatch> = []
    const c = new Coalescer({ windowMs: 1000, maxReadings: 3 }, (bs) => sent.push(...bs), manualSchedule().schedule)
    const o = owner()
    c.add(group("a", [1, 2]), newTicket(o, 1, 0, 2))
    c.add(group("b", [1]), newTicket(o, 2, 0, 1))
    c.add(group("a", [3]), newTicket(o, 3, 0, 1))
    expect(sent.map((b) => [b.sensor, b.ts])).toEqual([["a", [1, 2, 3]]])
    expect(c.waiting()).toBe(1)
  })

  it("per-frame mode (window 0) sends each frame's readings at once", () => {
    const sent: Array<SensorBatch> = []
    const c = new Coalescer({ windowMs: 0, maxReadings: 100 }, (bs) => sent.push(...bs), manualSchedule().schedule)
    const o = owner()
    const t = newTicket(o, 1, 0, 3)
    c.add(group("a", [1, 2]), t)
    c.add(group("b", [9], 2), t)
    c.endFrame()
    expect(sent.map((b) => b.sensor)).toEqual(["a", "b"])
  })

  it("routes every answer back to its frame and index, and finishes each frame once", () => {
    const sent: Array<SensorBatch> = []
    const c = new Coalescer({ windowMs: 5, maxReadings: 100 }, (bs) => sent.push(...bs), manualSchedule().schedule)
    const o = owner()
    const t1 = newTicket(o, 1, 0, 2)
    const t2 = newTicket(o, 2, 0, 1)
    c.add(group("a", [1]), t1)
    c.add(group("b", [1], 1), t1)
    c.add(group("a", [2]), t2)
    c.flush()
    const [a, b] = sent
    // Sensor a: the first reading (frame 1) is good, the second (frame 2) a duplicate.
    settle(a!, [0, -3])
    expect(o.finished.map((t) => t.seq)).toEqual([2])
    settle(b!, [0])
    expect(o.finished.map((t) => t.seq)).toEqual([2, 1])
    expect(t1).toMatchObject({ accepted: 2, rejected: [], remaining: 0 })
    expect(t2).toMatchObject({ accepted: 0, rejected: [{ index: 0, sensor: "a", reason: "duplicate" }] })
  })

  it("a failed batch fails every frame in it", () => {
    const sent: Array<SensorBatch> = []
    const c = new Coalescer({ windowMs: 0, maxReadings: 100 }, (bs) => sent.push(...bs), manualSchedule().schedule)
    const o = owner()
    const t = newTicket(o, 1, 0, 2)
    c.add(group("a", [1, 2]), t)
    c.endFrame()
    fail(sent[0]!, { code: "unavailable", message: "busy" })
    expect(o.finished).toHaveLength(1)
    expect(t.failure).toEqual({ code: "unavailable", message: "busy" })
  })

  it("property: every reading is sent once, in arrival order per sensor, and every frame is answered once", () => {
    fc.assert(
      fc.property(
    fc.array(fc.array(fc.record({ sensor: fc.constantFrom("a", "b", "c", "d"), value: fc.integer() }), { minLength: 1, maxLength: 6 }), {
      maxLength: 60
    }),
    fc.integer({ min: 1, max: 8 }),
    fc.array(fc.boolean(), { maxLength: 60 }),
    (frames, maxReadings, flushes) => {
    const sent: Array<SensorBatch> = []
    const clock = manualSchedule()
    const c = new Coalescer({ windowMs: 5, maxReadings }, (bs) => sent.push(...bs), clock.schedule)
    const o = owner()
    const arrived = new Map<string, Array<number>>()
    let n = 0
    frames.forEach((readings, seq) => {
      const ticket = newTicket(o, seq, 0, readings.length)
      const bySensor = new Map<string, { sensor: InternalId; index: Array<number>; ts: Array<number>; values: Array<number> }>()
      readings.forEach((r, i) => {
        const v = n++
        arrived.set(r.sensor, [...(arrived.get(r.sensor) ?? []), v])
        const g = bySensor.get(r.sensor) ?? { sensor: storedInternalId(r.sensor), index: [], ts: [], values: [] }
        g.index.push(i)
        g.ts.push(v)
        g.values.push(r.value)
        bySensor.set(r.sensor, g)
      })
      for (const g of bySensor.values()) c.add(g, ticket)
      c.endFrame()
      if (flushes[seq] === true) clock.fire()
    })
    c.flush()
    const got = new Map<string, Array<number>>()
    for (const b of sent) got.set(b.sensor, [...(got.get(b.sensor) ?? []), ...b.ts])
    expect(got).toEqual(arrived)
    for (const b of sent) settle(b, b.ts.map(() => 0))
    expect(o.finished.map((t) => t.seq).sort((x, y) => x - y)).toEqual(frames.map((_, i) => i))
    expect(o.finished.every((t) => t.accepted === frames[t.seq]!.length)).toBe(true)
    }))
  })
})
