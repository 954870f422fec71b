/**
 * How text, numbers and time arrive in a request, one rule each for every route: a path or query
 * parameter, or a free-text field of a body, is `TextParam`; a count or numeric id is `IntParam`; a
 * time bound in a query is `EpochMsParam`.
 * Decoded once at the edge: what PostgreSQL cannot store (a NUL byte, a timestamp past its range)
 * is refused there with the parameter's name, instead of failing the query as if the database were down.
 */
import { ParseResult, Schema } from "effect"
import { MAX_EPOCH_MS, MIN_EPOCH_MS } from "./epoch-range.js"

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, "0")}`

/**
 * The first character of `s` that no text of flowmesh may hold, described, or null: a control
 * character (C0, DEL, C1; PostgreSQL refuses NUL in text, the others are never part of an id, a
 * name or a URL) or an unpaired UTF-16 surrogate (not Unicode, so not storable as UTF-8).
 */
export const textProblem = (s: string): string | null => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `must not contain control characters; ${hex(c)} at ${i}`
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++
        continue
      }
      return `must be Unicode text; an unpaired surrogate ${hex(c)} at ${i}`
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `must be Unicode text; an unpaired surrogate ${hex(c)} at ${i}`
  }
  return null
}

/** Text without control characters or unpaired surrogates. */
export const TextParam = Schema.String.pipe(
  Schema.filter((s) => textProblem(s) ?? undefined, {
    jsonSchema: { pattern: "^[^\\u0000-\\u001f\\u007f-\\u009f]*$" },
    description: "Text without control characters (U+0000-U+001F, U+007F-U+009F) or unpaired surrogates"
  })
)

const DIGITS = /^\d{1,16}$/

/** Decimal digits of a whole number from `min` to `max`: no sign, exponent, fraction, hex or spaces. */
const digitsParam = (min: number, max: number, rule: string, description: string) =>
  Schema.transformOrFail(Schema.String.annotations({ jsonSchema: { type: "string", pattern: DIGITS.source }, description }), Schema.Number, {
    strict: true,
    decode: (s, _, ast) => {
      const n = DIGITS.test(s) ? Number(s) : Number.NaN
      return n >= min && n <= max ? ParseResult.succeed(n) : ParseResult.fail(new ParseResult.Type(ast, s, rule))
    },
    encode: (n) => ParseResult.succeed(String(n))
  })

/** A count, a page size or a numeric id in a path or query. */
export const IntParam = (min: number, max: number = Number.MAX_SAFE_INTEGER) =>
  digitsParam(min, max, `must be a whole number, ${min} to ${max}`, `A whole number, ${min} to ${max}`)

/** A time bound: whole epoch milliseconds in the range a reading's ts may take. */
export const EpochMsParam = digitsParam(
  MIN_EPOCH_MS,
  MAX_EPOCH_MS,
  `must be whole epoch milliseconds, ${MIN_EPOCH_MS} to ${MAX_EPOCH_MS}`,
  `Epoch milliseconds, ${MIN_EPOCH_MS} to ${MAX_EPOCH_MS}`
)
