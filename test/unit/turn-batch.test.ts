import { describe, expect, it } from "vitest"
import type { BatchOutcome } from "../../src/actors/batch-call.js"
import type { InternalId } from "../../src/domain/tenancy.js"
import { type IngestGroup, Overloaded, type SubmitResult } from "../../src/ingest/gateway.js"
import { batchingPerTurn } from "../../src/ingest/turn-batch.js"

const group = (sensor: string, value: number): IngestGroup => ({ sensor: sensor as InternalId, ts: [1], values: [value] })
const decided = (value: number): BatchOutcome => ({ _tag: "Decided", codes: Int32Array.of(value) })

/** A gateway that records its calls and answers each group with its value; the turn ends when `endTurn` is called. */
const setup = (answer: (groups: ReadonlyArray<IngestGroup>) => SubmitResult = (gs) => gs.map((g) => decided(g.values[0]!))) => {
  const calls: Array<{ sensors: Array<string>; durable: boolean; receivedAt: number }> = []
  let pending: Array<() => void> = []
  const gateway = {
    submitNow: (groups: ReadonlyArray<IngestGroup>, receivedAt: number, durable: boolean, done: (r: SubmitResult) => void) => {
      calls.push({ sensors: groups.map((g) => g.sensor), durable, receivedAt })
      done(answer(groups))
    }
  }
  const batching = batchingPerTurn(gateway, (f) => pending.push(f))
  const endTurn = () => {
    const due = pending
    pending = []
    for (const f of due) f()
  }
  return { calls, batching, endTurn }
}

describe("gateway calls merged per turn", () => {
  it("sends a turn's requests as one call and tells each its own groups' outcomes", () => {
    const { calls, batching, endTurn } = setup()
    const heard: Array<[string, SubmitResult]> = []
    batching.submitNow([group("a", 1), group("b", 2)], 100, true, (r) => heard.push(["first", r]))
    batching.submitNow([group("c", 3)], 105, true, (r) => heard.push(["second", r]))
    expect(calls).toEqual([])
    endTurn()
    expect(calls).toEqual([{ sensors: ["a", "b", "c"], durable: true, receivedAt: 100 }])
    expect(heard).toEqual([
      ["first", [decided(1), decided(2)]],
      ["second", [decided(3)]]
    ])
  })

  it("tells every request of the call when the call as a whole was refused", () => {
    const overloaded = new Overloaded({ pending: 10, limit: 10 })
    const { batching, endTurn } = setup(() => overloaded)
    const heard: Array<SubmitResult> = []
    batching.submitNow([group("a", 1)], 1, true, (r) => heard.push(r))
    batching.submitNow([group("b", 2)], 1, true, (r) => heard.push(r))
    endTurn()
    expect(heard).toEqual([overloaded, overloaded])
  })

  it("never puts one sensor twice in a call: its second request goes in the next, after the first", () => {
    const { calls, batching, endTurn } = setup()
    const order: Array<number> = []
    batching.submitNow([group("a", 1)], 1, true, () => order.push(1))
    batching.submitNow([group("b", 2), group("a", 3)], 2, true, () => order.push(2))
    batching.submitNow([group("c", 4)], 3, true, () => order.push(3))
    endTurn()
    expect(calls.map((c) => c.sensors)).toEqual([["a"], ["b", "a", "c"]])
    expect(order).toEqual([1, 2, 3])
  })

  it("keeps durable and accepted requests apart", () => {
    const { calls, batching, endTurn } = setup()
    batching.submitNow([group("a", 1)], 1, true, () => {})
    batching.submitNow([group("b", 2)], 1, false, () => {})
    batching.submitNow([group("c", 3)], 1, true, () => {})
    endTurn()
    expect(calls).toEqual([
      { sensors: ["a", "c"], durable: true, receivedAt: 1 },
      { sensors: ["b"], durable: false, receivedAt: 1 }
    ])
  })

  it("starts afresh each turn", () => {
    const { calls, batching, endTurn } = setup()
    batching.submitNow([group("a", 1)], 1, true, () => {})
    endTurn()
    batching.submitNow([group("a", 2)], 2, true, () => {})
    endTurn()
    endTurn()
    expect(calls.map((c) => c.sensors)).toEqual([["a"], ["a"]])
  })
})
