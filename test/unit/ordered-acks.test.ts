import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { OrderedAcks } from "../../src/mqtt/ordered-acks.js"

describe("PUBACKs in arrival order", () => {
  it("holds a later message's PUBACK until every earlier one is answered, then sends them in order", () => {
    const sent: Array<number> = []
    const acks = new OrderedAcks((id) => sent.push(id))
    const a = acks.hold(1)
    const b = acks.hold(2)
    const c = acks.hold(3)
    c()
    b()
    expect(sent).toEqual([])
    expect(acks.pending).toBe(3)
    a()
    expect(sent).toEqual([1, 2, 3])
    expect(acks.pending).toBe(0)
  })

  it("sends each PUBACK once, however often its message is said to be answered", () => {
    const sent: Array<number> = []
    const acks = new OrderedAcks((id) => sent.push(id))
    const a = acks.hold(7)
    a()
    a()
    const b = acks.hold(7) // the broker may reuse an acknowledged packet id
    a()
    expect(sent).toEqual([7])
    b()
    expect(sent).toEqual([7, 7])
  })

  it("forgets every place when the connection closes: an answer from before acknowledges nothing after", () => {
    const sent: Array<number> = []
    const acks = new OrderedAcks((id) => sent.push(id))
    const before = acks.hold(1)
    acks.hold(2)()
    acks.reset()
    const after = acks.hold(1) // the same packet id, on the new connection: another message, or the same one again
    before()
    expect(sent).toEqual([])
    after()
    expect(sent).toEqual([1])
  })

  it("sends every PUBACK exactly once, in arrival order, whatever order the answers come in", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }))), ([n, order]) => {
        const sent: Array<number> = []
        const acks = new OrderedAcks((id) => sent.push(id))
        const answers = Array.from({ length: n }, (_, i) => acks.hold(i + 1))
        let answered = 0
        for (const i of order) {
          answers[i]!()
          answered++
          // What went out is always a prefix of the arrivals, with nothing answered held back.
          expect(sent).toEqual(Array.from({ length: sent.length }, (_, k) => k + 1))
          expect(sent.length).toBeLessThanOrEqual(answered)
        }
        expect(sent).toEqual(Array.from({ length: n }, (_, k) => k + 1))
        expect(acks.pending).toBe(0)
      })
    )
  })
})
