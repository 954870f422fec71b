import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MAX_EPOCH_MS } from "../../src/domain/epoch-range.js"
import { EpochMsParam, IntParam, TextParam, textProblem } from "../../src/domain/request-params.js"

const decodeText = Schema.decodeUnknownEither(TextParam)
const decodeEpochMs = Schema.decodeUnknownEither(EpochMsParam)

/** What PostgreSQL stores as UTF-8 text: well-formed Unicode without NUL. */
const storable = (s: string) => Buffer.from(s, "utf8").toString("utf8") === s && !s.includes("\u0000")
const isControl = (c: number) => c < 0x20 || (c >= 0x7f && c <= 0x9f)

describe("text parameters", () => {
  it("take exactly the text that is storable and free of control characters", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) })), (s) => {
        const expected = storable(s) && ![...s].some((ch) => isControl(ch.charCodeAt(0)))
        expect(Either.isRight(decodeText(s)), JSON.stringify(s)).toBe(expected)
      }),
      { numRuns: 5_000 }
    )
  })

  it("says which character and where", () => {
    expect(textProblem("pump\u00001")).toBe("must not contain control characters; U+0000 at 4")
    expect(textProblem("a\u0085")).toBe("must not contain control characters; U+0085 at 1")
    expect(textProblem("x\ud800")).toBe("must be Unicode text; an unpaired surrogate U+D800 at 1")
    expect(textProblem("\udc00x")).toBe("must be Unicode text; an unpaired surrogate U+DC00 at 0")
    expect(textProblem("site-7/pump 😀 ü")).toBeNull()
  })
})

describe("epoch ms parameters", () => {
  it("take the decimal digits of every whole ms from 0 to 8.64e15, and nothing else", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_EPOCH_MS }), (ms) => {
        expect(decodeEpochMs(String(ms))).toEqual(Either.right(ms))
      })
    )
    for (const bad of ["-1", "-0", "5e-324", "1e20", "1e300", "-1e300", "8640000000000001", "9007199254740993", "1.5", "0x10", " 1", "", "NaN", "Infinity"]) {
      expect(Either.isLeft(decodeEpochMs(bad)), bad).toBe(true)
    }
  })
})

describe("whole number parameters", () => {
  const decodeLimit = Schema.decodeUnknownEither(IntParam(1, 1000))
  const decodeId = Schema.decodeUnknownEither(IntParam(1))

  it("take decimal digits within their range and say the range otherwise", () => {
    expect(decodeLimit("1000")).toEqual(Either.right(1000))
    expect(decodeId(String(Number.MAX_SAFE_INTEGER))).toEqual(Either.right(Number.MAX_SAFE_INTEGER))
    for (const bad of ["0", "1001", "1e3", "0x10", "-1", "1.0", "", " 5"]) expect(Either.isLeft(decodeLimit(bad)), bad).toBe(true)
    const beyond = decodeId("9007199254740993")
    expect(Either.isLeft(beyond) && beyond.left.message.includes("must be a whole number, 1 to 9007199254740991")).toBe(true)
  })
})
