import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { ackOutcome, frameType, ingestOutcome, laggedCount, liveErrorCode, liveLatencies } from "../../load/lib/answers.js"

describe("HTTP ingest answers", () => {
  it("a 202 counts accepted, suspect and rejected readings by reason", () => {
    const body = JSON.stringify({
      accepted: 7,
      durable: true,
      suspect: [{ index: 0, sensor: "a", reasons: ["spike"] }],
      rejected: [
        { index: 1, sensor: "a", reason: "out_of_order" },
        { index: 2, sensor: "b", reason: "throttled" },
        { index: 3, sensor: "b", reason: "throttled" }
      ]
    })
    expect(ingestOutcome(202, body)).toEqual({
      ok: true,
      accepted: 7,
      durable: true,
      suspect: 1,
      rejected: { out_of_order: 1, throttled: 2 },
      rejectedTotal: 3,
      overloaded: false,
      error: null
    })
    expect(ingestOutcome(202, '{"accepted":3,"durable":false,"suspect":[],"rejected":[]}')).toMatchObject({ ok: true, durable: false, rejected: {} })
  })

  it("a 400 or 422 is an error named by the node's code", () => {
    const body = JSON.stringify({ error: "validation_failed", message: "readings[3].value: must be a finite number" })
    expect(ingestOutcome(422, body)).toEqual({
      ok: false,
      accepted: 0,
      durable: false,
      suspect: 0,
      rejected: {},
      rejectedTotal: 0,
      overloaded: false,
      error: "validation_failed"
    })
    expect(ingestOutcome(400, '{"error":"malformed_json","message":"x"}').error).toBe("malformed_json")
  })

  it("a 503 or 429 is overload", () => {
    expect(ingestOutcome(503, '{"error":"unavailable","message":"writer queue full"}')).toMatchObject({ ok: false, overloaded: true, error: "unavailable" })
    expect(ingestOutcome(429, "")).toMatchObject({ ok: false, overloaded: true, error: "http_429" })
  })

  it("never throws: bad JSON, a 202 off the contract, no response", () => {
    expect(ingestOutcome(202, "{not json")).toMatchObject({ ok: false, error: "malformed_answer" })
    expect(ingestOutcome(202, '{"accepted":"3","rejected":[]}')).toMatchObject({ ok: false, error: "malformed_answer" })
    expect(ingestOutcome(502, "<html>bad gateway</html>")).toMatchObject({ ok: false, overloaded: false, error: "http_502" })
    expect(ingestOutcome(0, null)).toMatchObject({ ok: false, error: "no_response" })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 599 }), fc.oneof(fc.string(), fc.json()), (status, text) => {
        const outcome = ingestOutcome(status, text)
        expect(outcome.ok === (outcome.error === null)).toBe(true)
      })
    )
  })
})

describe("device frames from the node", () => {
  it("an ack carries its seq and decision", () => {
    const frame = '{"type":"ack","seq":12,"accepted":1,"durable":true,"suspect":[],"rejected":[]}'
    expect(ackOutcome(frame)).toEqual({
      kind: "ack",
      seq: 12,
      accepted: 1,
      durable: true,
      suspect: 0,
      rejected: {},
      rejectedTotal: 0,
      code: null,
      retryAfterMs: null
    })
    const dup = '{"type":"ack","seq":3,"accepted":0,"durable":true,"suspect":[],"rejected":[{"index":0,"sensor":"a","reason":"duplicate"}]}'
    expect(ackOutcome(dup)).toMatchObject({ kind: "ack", seq: 3, accepted: 0, rejected: { duplicate: 1 }, rejectedTotal: 1 })
  })

  it("an error carries its code, its seq when it has one, and retryAfterMs", () => {
    expect(ackOutcome('{"type":"error","seq":5,"code":"unavailable","message":"writer full","retryAfterMs":1000}')).toMatchObject({
      kind: "error",
      seq: 5,
      accepted: 0,
      code: "unavailable",
      retryAfterMs: 1000
    })
    expect(ackOutcome('{"type":"error","code":"malformed_json","message":"at 3"}')).toMatchObject({
      kind: "error",
      seq: null,
      code: "malformed_json",
      retryAfterMs: null
    })
  })

  it("anything else is other, never a throw", () => {
    for (const text of ["", "nope", "[]", "null", '{"type":"ack","seq":1}', '{"type":"pong"}']) {
      expect(ackOutcome(text).kind).toBe("other")
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        expect(["ack", "error", "other"]).toContain(ackOutcome(text).kind)
      })
    )
  })
})

describe("dashboard frames", () => {
  it("a readings frame gives every reading's age on arrival", () => {
    const frame = JSON.stringify({
      type: "readings",
      sensors: [
        { sensor: "a", ts: [1000, 1010], values: [1, 2], quality: [0, 0] },
        { sensor: "b", ts: [1020], values: [3], quality: [4] }
      ]
    })
    expect(liveLatencies(frame, 1050)).toEqual([50, 40, 30])
    expect(laggedCount(frame)).toBe(0)
    expect(frameType(frame)).toBe("readings")
  })

  it("other frames have no latencies; lagged counts what was dropped", () => {
    expect(liveLatencies('{"type":"lagged","dropped":12}', 5)).toEqual([])
    expect(laggedCount('{"type":"lagged","dropped":12}')).toBe(12)
    expect(liveLatencies('{"type":"subscribed","sensors":[],"prefixes":["site-1/*"]}', 5)).toEqual([])
    expect(frameType('{"type":"subscribed","sensors":[],"prefixes":[]}')).toBe("subscribed")
    expect(liveLatencies("garbage", 5)).toEqual([])
    expect(laggedCount('{"type":"state","sensor":"lagged","from":"online","to":"fault"}')).toBe(0)
  })

  it("an error frame gives its code", () => {
    expect(liveErrorCode('{"type":"error","code":"too_many_subscriptions","message":"LIVE_MAX_SUBSCRIPTIONS"}')).toBe("too_many_subscriptions")
    expect(liveErrorCode('{"type":"readings","sensors":[{"sensor":"error","ts":[1],"values":[1],"quality":[0]}]}')).toBeNull()
  })
})
