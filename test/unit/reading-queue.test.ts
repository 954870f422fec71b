import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { ReadingQueue } from "../../src/forward/reading-queue.js"
import type { CommittedReadings } from "../../src/storage/write-buffer.js"

interface Row {
  readonly sensor: string
  readonly ts: number
  readonly value: number
  readonly quality: number
}

const buffer = (rows: ReadonlyArray<Row>): CommittedReadings => ({
  sensors: rows.map((r) => r.sensor),
  ts: rows.map((r) => r.ts),
  values: rows.map((r) => r.value),
  quality: rows.map((r) => r.quality)
})

const drainAll = (q: ReadingQueue, max = Number.MAX_SAFE_INTEGER): Array<Row> => {
  const out: Array<Row> = []
  q.drain(max, (sensor, ts, value, quality) => out.push({ sensor, ts, value, quality }))
  return out
}

const row = (i: number): Row => ({ sensor: `s-${i % 3}`, ts: 1_700_000_000_000 + i, value: i / 4, quality: i % 2 })

describe("ReadingQueue", () => {
  it("hands out committed rows in order, skipping the ones PostgreSQL refused", () => {
    const q = new ReadingQueue(10)
    const rows = [0, 1, 2, 3, 4].map(row)
    expect(q.offer(buffer(rows), [1, 3])).toBe(0)
    expect(q.size).toBe(3)
    expect(drainAll(q)).toEqual([rows[0], rows[2], rows[4]])
    expect(q.size).toBe(0)
  })

  it("drains at most `max` at a time, the oldest first", () => {
    const q = new ReadingQueue(10)
    const rows = [0, 1, 2, 3, 4].map(row)
    q.offer(buffer(rows), [])
    expect(drainAll(q, 2)).toEqual(rows.slice(0, 2))
    expect(drainAll(q, 2)).toEqual(rows.slice(2, 4))
    expect(drainAll(q, 2)).toEqual(rows.slice(4))
    expect(drainAll(q, 2)).toEqual([])
  })

  it("when full, drops the oldest readings to make room and says how many", () => {
    const q = new ReadingQueue(4)
    const rows = Array.from({ length: 7 }, (_, i) => row(i))
    expect(q.offer(buffer(rows.slice(0, 3)), [])).toBe(0)
    expect(q.offer(buffer(rows.slice(3)), [])).toBe(3)
    expect(q.size).toBe(4)
    expect(drainAll(q)).toEqual(rows.slice(3))
  })

  it("clear empties it and reports what it held", () => {
    const q = new ReadingQueue(4)
    q.offer(buffer([row(1), row(2)]), [])
    expect(q.clear()).toBe(2)
    expect(q.size).toBe(0)
    expect(drainAll(q)).toEqual([])
  })

  it("behaves as a bounded FIFO that drops its oldest: what it hands out is the newest `capacity` of what it took, minus what was drained, and drops are counted exactly", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.oneof(fc.record({ offer: fc.integer({ min: 0, max: 30 }), refuse: fc.array(fc.nat(29), { maxLength: 3 }) }), fc.record({ drain: fc.integer({ min: 0, max: 25 }) })), {
          maxLength: 40
        }),
        (capacity, ops) => {
          const q = new ReadingQueue(capacity)
          const model: Array<Row> = []
          let next = 0
          let dropped = 0
          let modelDropped = 0
          for (const op of ops) {
            if ("offer" in op) {
              const rows = Array.from({ length: op.offer }, () => row(next++))
              dropped += q.offer(buffer(rows), op.refuse)
              const refused = new Set(op.refuse)
              for (let i = 0; i < rows.length; i++) if (!refused.has(i)) model.push(rows[i]!)
              while (model.length > capacity) {
                model.shift()
                modelDropped++
              }
            } else {
              expect(drainAll(q, op.drain)).toEqual(model.splice(0, op.drain))
            }
            expect(q.size).toBe(model.length)
          }
          expect(dropped).toBe(modelDropped)
          expect(drainAll(q)).toEqual(model)
        }
      )
    )
  })
})
