/**
 * Requests generated from the node's own OpenAPI document: every operation with parameters and a
 * body drawn from its JSON Schemas, valid or made hostile one part at a time (NUL and control
 * characters, unpaired surrogates, overlong and broken percent-escapes, numbers at and past every
 * bound, wrong types, unexpected keys). Each case knows the operation it targets and the statuses
 * the document promises for it, so that an answer can be judged against the contract.
 */
import * as fc from "fast-check"

type JsonSchema = Readonly<Record<string, unknown>>
export type OpenApiDocument = { readonly paths: Record<string, unknown>; readonly components: { readonly schemas: Record<string, JsonSchema> } }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const records = (u: unknown): ReadonlyArray<Record<string, unknown>> => (Array.isArray(u) ? u.filter(isRecord) : [])
const numberOr = (u: unknown, fallback: number) => (typeof u === "number" ? u : fallback)

export interface Parameter {
  readonly name: string
  readonly schema: JsonSchema
  readonly required: boolean
}

export interface Operation {
  readonly id: string
  readonly method: string
  /** `/api/v1/sensors/{id}/readings` */
  readonly path: string
  readonly pathParams: ReadonlyArray<Parameter>
  readonly queryParams: ReadonlyArray<Parameter>
  readonly body: JsonSchema | null
  /** Every status the document lists for the operation. */
  readonly statuses: ReadonlySet<number>
}

export const operationsOf = (doc: OpenApiDocument): ReadonlyArray<Operation> =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    isRecord(item)
      ? Object.entries(item).flatMap(([method, op]) => {
          if (!isRecord(op) || typeof op.operationId !== "string") return []
          const params = records(op.parameters).map((p) => ({
            name: String(p.name),
            in: String(p.in),
            schema: isRecord(p.schema) ? p.schema : {},
            required: p.required === true
          }))
          const content = isRecord(op.requestBody) && isRecord(op.requestBody.content) ? op.requestBody.content["application/json"] : undefined
          return [
            {
              id: op.operationId,
              method: method.toUpperCase(),
              path,
              pathParams: params.filter((p) => p.in === "path"),
              queryParams: params.filter((p) => p.in === "query"),
              body: isRecord(content) && isRecord(content.schema) ? content.schema : null,
              statuses: new Set(Object.keys(isRecord(op.responses) ? op.responses : {}).map(Number))
            }
          ]
        })
      : []
  )

/** The schema behind `$ref` (siblings such as bounds override it) and the parts of `allOf`, merged. */
const resolve = (doc: OpenApiDocument, schema: JsonSchema): JsonSchema => {
  let out: JsonSchema = schema
  if (typeof out.$ref === "string") {
    const { $ref, ...rest } = out
    out = { ...resolve(doc, doc.components.schemas[$ref.replace("#/components/schemas/", "")] ?? {}), ...rest }
  }
  if (Array.isArray(out.allOf)) {
    const { allOf, ...rest } = out
    const merged: Record<string, unknown> = { ...rest }
    // Every pattern holds: kept side by side, not overwritten.
    const patterns = [...patternsOf(rest)]
    for (const part of records(allOf)) {
      const more = resolve(doc, part)
      Object.assign(merged, more)
      patterns.push(...patternsOf(more))
    }
    out = { ...merged, pattern: patterns[0], patterns }
  }
  return out
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** Numbers at and around the bounds of the schema, and anywhere between. */
const numberIn = (schema: JsonSchema, integer: boolean): fc.Arbitrary<number> => {
  const min = Math.max(numberOr(schema.minimum, numberOr(schema.exclusiveMinimum, -1e9)), -MAX_SAFE)
  const max = Math.min(numberOr(schema.maximum, numberOr(schema.exclusiveMaximum, 1e9)), MAX_SAFE)
  const inside = fc.double({ min, max, noNaN: true, minExcluded: schema.exclusiveMinimum !== undefined, maxExcluded: schema.exclusiveMaximum !== undefined })
  const edges = [min, max, Math.floor((min + max) / 2)].filter((n) => n > numberOr(schema.exclusiveMinimum, -Infinity) && n < numberOr(schema.exclusiveMaximum, Infinity))
  const any = edges.length > 0 ? fc.oneof(fc.constantFrom(...edges), inside) : inside
  return integer ? any.map((n) => Math.min(Math.max(Math.round(n), Math.ceil(min)), Math.floor(max))) : any
}

/** How a whole number in a path or query is written (`IntParam`, `EpochMsParam`): its values are small counts, ids and times. */
const DIGITS_PATTERN = "^\\d{1,16}$"
export const isNumeral = (schema: JsonSchema) => schema.pattern === DIGITS_PATTERN

const patternsOf = (schema: JsonSchema): ReadonlyArray<string> =>
  Array.isArray(schema.patterns) ? schema.patterns.map(String) : typeof schema.pattern === "string" ? [schema.pattern] : []

/** A pattern that only rules characters out (`^[^...]*$`): any string of the right length, filtered, draws from it. */
const excludesOnly = (pattern: string) => /^\^\[\^[^\]]*\]\*\$$/.test(pattern)

const stringIn = (schema: JsonSchema): fc.Arbitrary<string> => {
  if (isNumeral(schema)) return fc.integer({ min: 1, max: 1000 }).map(String)
  const minLength = numberOr(schema.minLength, 0)
  const maxLength = Math.max(minLength, Math.min(numberOr(schema.maxLength, 40), 300))
  const patterns = patternsOf(schema).map((p) => new RegExp(p))
  const shaping = patternsOf(schema).find((p) => !excludesOnly(p))
  const drawn = shaping === undefined ? fc.string({ minLength, maxLength }) : fc.stringMatching(new RegExp(shaping))
  return drawn.filter((s) => s.length >= minLength && s.length <= maxLength && patterns.every((p) => p.test(s)))
}

/** Values the schema takes (a valid document, with its optional keys present or not). */
export const instancesOf = (doc: OpenApiDocument, raw: JsonSchema, depth = 0): fc.Arbitrary<unknown> => {
  const schema = resolve(doc, raw)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum)
  if (Array.isArray(schema.anyOf)) return fc.oneof(...records(schema.anyOf).map((s) => instancesOf(doc, s, depth)))
  switch (schema.type) {
    case "string":
      return stringIn(schema)
    case "integer":
      return numberIn(schema, true)
    case "number":
      return numberIn(schema, false)
    case "boolean":
      return fc.boolean()
    case "null":
      return fc.constant(null)
    case "array":
      return fc.array(isRecord(schema.items) && depth < 4 ? instancesOf(doc, schema.items, depth + 1) : fc.constant(null), {
        minLength: numberOr(schema.minItems, 0),
        maxLength: Math.min(numberOr(schema.maxItems, 4), 4)
      })
    case "object": {
      const properties = isRecord(schema.properties) ? schema.properties : {}
      const required = Array.isArray(schema.required) ? schema.required.map(String) : []
      const model: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [key, value] of Object.entries(properties)) if (isRecord(value)) model[key] = instancesOf(doc, value, depth + 1)
      return fc.record(model, { requiredKeys: required.filter((k) => k in model) })
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** Text no field may carry: what PostgreSQL refuses, what is not Unicode, what no id holds. */
export const hostileText = fc.constantFrom("\u0000", "pump\u00001", "\u0001\u001f", "\u007f", "a\u0085b", "\ud800", "x\udfff", "\u202e\u0000", "tab\there", "line\nbreak")

/** Numbers at and past every bound a JSON number or an epoch ms can reach. */
export const hostileNumber = fc.constantFrom(5e-324, -5e-324, 1e300, -1e300, -0, 2 ** 53 + 1, -(2 ** 53 + 1), 8.64e15, 8.64e15 + 1, -1, 0.5, 1e21, Number.MAX_VALUE)

/** Path segments as they go on the wire: what no id may be, or no target may spell. */
export const hostileSegment = fc.constantFrom(
  "%00",
  "pump%001",
  "%01%1F",
  "%7F",
  "a%C2%85b",
  "%0A",
  "%C0%AE",
  "%C0%80",
  "%ED%A0%80",
  "%E0%80%AF",
  "%F8%88%80%80%80",
  "%FF",
  "%",
  "%zz",
  "a%2",
  "a;b"
)

/** Query values as they go on the wire: text no parameter takes (encoded), or numerals no number parameter takes. */
const hostileQueryValue = (schema: JsonSchema): fc.Arbitrary<string> =>
  isNumeral(schema)
    ? // None is a whole number any of them takes (8640000000000001 is a limit, past an epoch ms: edge-errors.test.ts has it).
      fc.constantFrom("5e-324", "-1e300", "1e300", "-0", "9007199254740993", "99999999999999999", "1e3", "0x10", "+5", "%205", "1.5", "Infinity", "NaN", "", "-1")
    : fc.oneof(hostileSegment.filter((v) => v !== "a;b"), fc.constantFrom("%00", "x%00y", "%ED%B0%80"))

/** A body that is not what the schema takes: wrong types, hostile text and numbers in its leaves, unexpected keys. */
export const spoil = (value: unknown): fc.Arbitrary<unknown> => {
  const leaf = fc.oneof(hostileText, hostileNumber, fc.constantFrom(null, true, [], {}, "", "x".repeat(5_000)))
  if (Array.isArray(value)) {
    if (value.length === 0) return fc.oneof(leaf.map((v) => [v]), fc.constant(Array.from({ length: 20_000 }, () => 0)))
    return fc.nat(value.length - 1).chain((i) => spoil(value[i]).map((m) => value.map((v, j) => (j === i ? m : v))))
  }
  if (isRecord(value)) {
    const keys = Object.keys(value)
    // A computed key is an own property, even "__proto__", as JSON.parse would make it.
    const extra = fc.constantFrom("__proto__", "constructor", "unexpected", "\u0000").map((k) => ({ [k]: 1, ...value }))
    if (keys.length === 0) return fc.oneof(extra, leaf)
    return fc.oneof(
      extra,
      fc.constantFrom(...keys).chain((k) => spoil(value[k]).map((m) => ({ ...value, [k]: m })))
    )
  }
  return typeof value === "number" ? fc.oneof(hostileNumber, leaf) : leaf
}

/** JSON text a parser takes but a number cannot hold, or no JSON at all. */
export const hostileJsonText = (json: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(json.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/i, "1e400"), json.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/i, "-1e400")),
    fc.nat(json.length).map((n) => json.slice(0, n)),
    fc.constantFrom("", "{", "[]]", "nul", "\u0000", '"\\ud800"', `${"[".repeat(10_000)}${"]".repeat(10_000)}`)
  )

export interface RequestCase {
  readonly op: Operation
  /** The request target as it goes on the wire. */
  readonly target: string
  readonly body: string | null
  /** The parameter made hostile (with `path`/`query` for target-level refusals): a 400 must name one of them. */
  readonly hostile: ReadonlyArray<string>
  readonly hostileBody: boolean
}

const paramValue = (doc: OpenApiDocument, p: Parameter): fc.Arbitrary<string> =>
  instancesOf(doc, p.schema).map((v) => (typeof v === "string" ? v : JSON.stringify(v)))

/** Well-formed Unicode, as a URL can carry it (a lone surrogate is spelled as a percent-escape instead). */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "\ufffd"))

type Spoiled = "none" | "path" | "query" | "body"

/** How fast-check prints a case in a failure report: the request, not the whole operation, and a long body cut short. */
const described = (c: RequestCase): RequestCase =>
  Object.assign(c, {
    [fc.toStringMethod]: () =>
      `${c.op.method} ${c.target}${c.body === null ? "" : ` ${c.body.length > 300 ? `${c.body.slice(0, 300)}… (${c.body.length} chars)` : c.body}`}`
  })

/**
 * A case for `op`: every part valid (path ids mostly from `ids`, the resources that exist), or,
 * when `hostile`, possibly one part (a path parameter, a query parameter, or the body) made hostile.
 */
export const caseOf = (doc: OpenApiDocument, op: Operation, ids: fc.Arbitrary<string> | null, hostile = true): fc.Arbitrary<RequestCase> => {
  const parts: Array<Spoiled> = ["none", "none"]
  if (hostile && op.pathParams.length > 0) parts.push("path")
  if (hostile && op.queryParams.length > 0) parts.push("query")
  if (hostile && op.body !== null) parts.push("body", "body")
  const pathValue = (p: Parameter) => {
    const drawn = paramValue(doc, p).filter((v) => v !== "")
    return ids === null ? drawn : fc.oneof({ weight: 3, arbitrary: ids }, { weight: 1, arbitrary: drawn })
  }
  return fc
    .record({
      paths: fc.tuple(...op.pathParams.map(pathValue)),
      // A required parameter is always there (a missing one would be the fault named, not the hostile part).
      query: fc.tuple(...op.queryParams.map((p) => (p.required ? paramValue(doc, p) : fc.option(paramValue(doc, p), { nil: null })))),
      value: op.body === null ? fc.constant(undefined) : instancesOf(doc, op.body),
      spoiled: fc.constantFrom(...parts),
      which: fc.nat(),
      segment: hostileSegment,
      hostileQuery: fc.tuple(...op.queryParams.map((p) => hostileQueryValue(p.schema)))
    })
    .chain(({ paths, query, value, spoiled, which, segment, hostileQuery }) => {
      const named: Array<string> = []
      let target = op.path
      op.pathParams.forEach((p, i) => {
        const hit = spoiled === "path" && i === which % op.pathParams.length
        if (hit) named.push(p.name, "path")
        target = target.replace(`{${p.name}}`, hit ? segment : encode(paths[i] ?? ""))
      })
      const pairs: Array<string> = []
      op.queryParams.forEach((p, i) => {
        if (spoiled === "query" && i === which % op.queryParams.length) {
          named.push(p.name, "query")
          pairs.push(`${p.name}=${hostileQuery[i] ?? ""}`)
        } else if (query[i] !== null && query[i] !== undefined) pairs.push(`${p.name}=${encode(query[i] ?? "")}`)
      })
      if (pairs.length > 0) target += `?${pairs.join("&")}`
      if (op.body === null) return fc.constant(described({ op, target, body: null, hostile: named, hostileBody: false }))
      const json = JSON.stringify(value) ?? "null"
      const text = spoiled === "body" ? fc.oneof(spoil(value).map((m) => JSON.stringify(m) ?? "null"), hostileJsonText(json)) : fc.constant(json)
      return text.map((body) => described({ op, target, body, hostile: named, hostileBody: spoiled === "body" }))
    })
}
