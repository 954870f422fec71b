import { externalId } from "../../src/domain/tenancy.js"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { decodeDeviceFrame } from "../../src/http/ws/device-frames.js"
import { decodeLiveFrame, framesOf } from "../../src/http/ws/live-frames.js"

const limits = { maxReadings: 3, maxFutureSkewMs: 1000 }

describe("device frames", () => {
  it("groups a frame's readings by sensor and keeps their indexes", () => {
    const frame = decodeDeviceFrame(
      JSON.stringify({ type: "readings", seq: 4, readings: [{ sensor: "a", ts: 1, value: 1 }, { sensor: "b", ts: 2, value: 2 }, { sensor: "a", ts: 3, value: 3 }] }),
      10_000,
      limits
    )
    expect(frame).toEqual(
      Either.right({
        seq: 4,
        count: 3,
        groups: [
          { sensor: "a", index: [0, 2], ts: [1, 3], values: [1, 3] },
          { sensor: "b", index: [1], ts: [2], values: [2] }
        ]
      })
    )
  })

  it.each([
    ["[1", { seq: null, code: "malformed_json" }],
    ["[]", { seq: null, code: "validation_failed" }],
    [`{"type":"readings","seq":-1,"readings":[]}`, { seq: null, code: "validation_failed", message: expect.stringMatching(/^seq: must be a non-negative integer/) }],
    [`{"type":"ack","seq":1}`, { seq: 1, code: "unknown_type" }],
    [`{"type":"readings","seq":1,"readings":[{},{},{},{}]}`, { seq: 1, code: "payload_too_large", message: expect.stringContaining("WS_MAX_READINGS_PER_FRAME") }],
    [`{"type":"readings","seq":2,"readings":[{"sensor":"a","value":1,"ts":99999}]}`, { seq: 2, code: "validation_failed", message: expect.stringMatching(/^readings\[0\]\.ts: is \d+ ms in the future/) }]
  ])("names what is wrong with %s", (text, expected) => {
    const decoded = decodeDeviceFrame(text, 10_000, limits)
    expect(Either.isLeft(decoded) && decoded.left).toMatchObject(expected)
  })
})

describe("live frames", () => {
  it("decodes sensor ids and prefix patterns", () => {
    expect(decodeLiveFrame(JSON.stringify({ type: "subscribe", sensors: ["a", "site-7/*"] }), 10)).toEqual(
      Either.right({ type: "subscribe", topics: [{ _tag: "Sensor", sensor: "a" }, { _tag: "Prefix", prefix: "site-7/" }] })
    )
  })

  it.each([
    [`{"type":"watch","sensors":["a"]}`, "unknown_type"],
    [`{"type":"subscribe","sensors":[]}`, "validation_failed"],
    [`{"type":"subscribe","sensors":["*"]}`, "validation_failed"],
    [`{"type":"subscribe","sensors":["a b"]}`, "validation_failed"],
    [`{"type":"subscribe","sensors":["a","b","c"]}`, "payload_too_large"]
  ])("refuses %s with %s", (text, code) => {
    const decoded = decodeLiveFrame(text, 2)
    expect(Either.isLeft(decoded) && decoded.left.code).toBe(code)
  })

  it("merges readings per sensor, keeps a state change after the readings before it, and names sensors as the tenant knows them", () => {
    const frames = framesOf(
      [
        { _tag: "Readings", sensor: "acme~a", ts: [1], values: [10], quality: [0], receivedAt: 0 },
        { _tag: "Readings", sensor: "acme~b", ts: [1], values: [20], quality: [0], receivedAt: 0 },
        { _tag: "Readings", sensor: "acme~a", ts: [2], values: [11], quality: [4], receivedAt: 0 },
        { _tag: "State", sensor: "acme~a", from: "online", to: "degraded", at: 2, reason: "suspect share" },
        { _tag: "Readings", sensor: "acme~a", ts: [3], values: [12], quality: [0], receivedAt: 0 }
      ],
      0,
      externalId
    )
    expect(frames).toEqual([
      {
        type: "readings",
        sensors: [
          { sensor: "a", ts: [1, 2], values: [10, 11], quality: [0, 4] },
          { sensor: "b", ts: [1], values: [20], quality: [0] }
        ]
      },
      { type: "state", sensor: "a", from: "online", to: "degraded", at: 2, reason: "suspect share" },
      { type: "readings", sensors: [{ sensor: "a", ts: [3], values: [12], quality: [0] }] }
    ])
  })
})

describe("frames nested too deeply to decode", () => {
  const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`

  it("are refused with an error frame, never thrown (a throw in a socket handler would take the node down)", () => {
    expect(decodeDeviceFrame(`{"type":"readings","seq":1,"readings":[{"sensor":"a","value":${deep}}]}`, 10_000, limits)).toEqual(
      Either.left({ seq: null, code: "validation_failed", message: "frame: nested too deeply to decode" })
    )
    expect(decodeLiveFrame(`{"type":"subscribe","alerts":${deep}}`, 10)).toEqual(
      Either.left({ code: "validation_failed", message: "frame: nested too deeply to decode" })
    )
  })
})
