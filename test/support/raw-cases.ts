/**
 * Hostile HTTP framing, for raw sockets: chunked bodies within and past MAX_BODY_BYTES, declared
 * lengths over it, lengths that lie either way, content types the API does not read (multipart
 * with an empty body among them), bodies the node never reads on a keep-alive connection,
 * pipelined requests, header values and request targets a client library would refuse, bytes that
 * are not UTF-8. Each scenario says what the node must answer; the connection's fate is judged
 * the same way for all (see `runScenario`).
 */
import * as fc from "fast-check"
import { expect } from "vitest"
import { errorBodyOf, type Tally } from "./fuzz-judge.js"
import type { Operation, RequestCase } from "./openapi-cases.js"
import { chunked, RawConnection, type RawResponse, requestHead } from "./raw-http.js"

export interface Scenario {
  readonly label: string
  /** Written one after another, as soon as the connection is open. */
  readonly writes: ReadonlyArray<Buffer>
  /** One check per answer the node owes, in order. */
  readonly answers: ReadonlyArray<(r: RawResponse) => void>
  /** The node must close the connection after the answers (without more answers than `answers`). */
  readonly closes?: boolean
}

export interface ScenarioContext {
  readonly authorization: string
  readonly maxBodyBytes: number
  /** A valid request for an operation that takes a body. */
  readonly withBody: fc.Arbitrary<RequestCase>
  /** A valid request for an operation that takes none. */
  readonly withoutBody: fc.Arbitrary<RequestCase>
}

const bytes = (s: string) => Buffer.from(s, "latin1")

const status =
  (...expected: ReadonlyArray<number>) =>
  (r: RawResponse) =>
    expect(expected, `${r.status} ${r.body.slice(0, 300)}`).toContain(r.status)

const documented = (op: Operation) => (r: RawResponse) => {
  expect(r.status, r.body.slice(0, 300)).toBeLessThan(500)
  expect(op.statuses.has(r.status), `${r.status} is not documented for ${op.id}: ${r.body.slice(0, 300)}`).toBe(true)
}

const refusal = (code: number, error: string, field: string) => (r: RawResponse) => {
  expect(r.status, r.body.slice(0, 300)).toBe(code)
  const body = errorBodyOf(r, `${code} ${error}`)
  expect(body.error).toBe(error)
  expect(body.message.startsWith(`${field}: `), body.message).toBe(true)
}

const headOf = (c: RequestCase, authorization: string, headers: Readonly<Record<string, string>>) =>
  requestHead(c.op.method, c.target, { authorization, ...headers })

const scenarios = (ctx: ScenarioContext): ReadonlyArray<fc.Arbitrary<Scenario>> => {
  const { authorization: auth, maxBodyBytes: max } = ctx
  const json = { "content-type": "application/json" }
  const tooLarge = refusal(413, "payload_too_large", "body")
  return [
    // A chunked body is read like one of declared length.
    fc.tuple(ctx.withBody, fc.integer({ min: 1, max: 64 })).map(([c, size]) => ({
      label: `chunked ${c.op.id}`,
      writes: [bytes(headOf(c, auth, { ...json, "transfer-encoding": "chunked" })), chunked(Buffer.from(c.body ?? ""), size)],
      answers: [documented(c.op)]
    })),
    // Past MAX_BODY_BYTES: 413; the node reads on up to the drain bound and keeps the connection, or closes it.
    fc.tuple(ctx.withBody, fc.integer({ min: 1, max: 2 * max }), fc.boolean()).map(([c, over, isChunked]) => {
      const body = Buffer.alloc(max + over, 0x20)
      const headers = isChunked ? { ...json, "transfer-encoding": "chunked" } : { ...json, "content-length": String(body.length) }
      return {
        label: `${isChunked ? "chunked" : "declared"} body of ${body.length} bytes to ${c.op.id}`,
        writes: [bytes(headOf(c, auth, headers)), isChunked ? chunked(body, 16_384) : body],
        answers: [tooLarge],
        closes: over > max
      }
    }),
    fc.tuple(ctx.withBody, fc.constantFrom(10 * max, 1e12, 2 ** 53)).map(([c, declared]) => ({
      label: `declared body of ${declared} bytes, never sent, to ${c.op.id}`,
      writes: [bytes(headOf(c, auth, { ...json, "content-length": String(declared) }))],
      answers: [tooLarge],
      closes: true
    })),
    // A length that claims less than is sent: the rest is read as the next request, which is garbage.
    fc.tuple(ctx.withBody, fc.integer({ min: 1, max: 20 })).map(([c, short]) => {
      const body = Buffer.from(`${c.body ?? ""}${"}".repeat(short)}`)
      return {
        label: `content-length ${short} short for ${c.op.id}`,
        writes: [bytes(headOf(c, auth, { ...json, "content-length": String(body.length - short) })), body],
        answers: [documented(c.op), status(400)],
        closes: true
      }
    }),
    // Content types the API does not read, with a body or (multipart) without one: 415 at once.
    fc
      .tuple(
        ctx.withBody,
        fc.constantFrom("text/plain", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "application/vnd.flowmesh+json", "application/json; charset=latin1", null),
        fc.boolean()
      )
      .map(([c, type, empty]) => {
        const body = empty && type !== null ? Buffer.alloc(0) : Buffer.from(c.body ?? "{}")
        const headers: Record<string, string> = { "content-length": String(body.length), ...(type === null ? {} : { "content-type": type }) }
        return { label: `${type ?? "no content type"} to ${c.op.id}`, writes: [bytes(headOf(c, auth, headers)), body], answers: [refusal(415, "unsupported_media_type", "content-type")] }
      }),
    // A body the node never reads: the connection still serves the next request.
    fc.tuple(ctx.withoutBody, fc.integer({ min: 1, max: max }), fc.boolean()).map(([c, size, isChunked]) => {
      const body = Buffer.alloc(size, 0x78)
      const headers = isChunked ? { "transfer-encoding": "chunked" } : { "content-length": String(size) }
      return { label: `unread ${size}-byte body to ${c.op.id}`, writes: [bytes(headOf(c, auth, headers)), isChunked ? chunked(body, 4096) : body], answers: [documented(c.op)] }
    }),
    fc.tuple(fc.constantFrom(["POST", "/api/v1/nothing", 404], ["DELETE", "/api/v1/readings", 405], ["PATCH", "/api/v1/sensors/a", 405]), fc.integer({ min: 1, max })).map(([[method, path, code], size]) => ({
      label: `unread body to ${method} ${path}`,
      writes: [bytes(requestHead(String(method), String(path), { authorization: auth, "content-length": String(size) })), Buffer.alloc(size, 0x78)],
      answers: [status(Number(code))]
    })),
    // Pipelined: answered in order.
    fc.array(fc.oneof(ctx.withBody, ctx.withoutBody), { minLength: 2, maxLength: 4 }).map((cases) => ({
      label: `pipelined ${cases.map((c) => c.op.id).join(", ")}`,
      writes: [
        Buffer.concat(
          cases.map((c) => {
            const body = Buffer.from(c.body ?? "")
            return Buffer.concat([bytes(headOf(c, auth, c.body === null ? {} : { ...json, "content-length": String(body.length) })), body])
          })
        )
      ],
      answers: cases.map((c) => documented(c.op))
    })),
    // Bytes that are not UTF-8 inside a JSON body.
    fc.tuple(ctx.withBody, fc.constantFrom("\xc0\xae", "\xed\xa0\x80", "\xff\xfe", "\xe2\x82", "\xf8\x88\x80\x80\x80")).map(([c, raw]) => {
      const body = Buffer.from((c.body ?? "{}").replace(/"[^"]*"/, `"${raw}"`), "latin1")
      return { label: `non-UTF-8 bytes in a body to ${c.op.id}`, writes: [bytes(headOf(c, auth, { ...json, "content-length": String(body.length) })), body], answers: [documented(c.op)] }
    }),
    // Credentials that are no credential.
    fc.tuple(ctx.withoutBody.filter((c) => c.op.statuses.has(401)), fc.constantFrom("authorization", "x-api-key", "x-device-key"), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)), maxLength: 300 })).map(([c, header, value]) => ({
      label: `${header}: ${value.slice(0, 40)} to ${c.op.id}`,
      writes: [bytes(requestHead(c.op.method, c.target, { [header]: header === "authorization" ? `Bearer ${value}` : value }))],
      answers: [refusal(401, "unauthorized", `${c.op.method} ${c.target.split("?")[0]}`)]
    })),
    // Framing no client library would send: Node's parser answers 400 (431, 417) and closes.
    fc.constantFrom<Scenario>(
      { label: "control byte in a header", writes: [bytes(requestHead("GET", "/health", { "x-a": "a\x01b" }))], answers: [status(400)], closes: true },
      { label: "two different lengths", writes: [bytes("POST /api/v1/readings HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}")], answers: [status(400)], closes: true },
      { label: "chunked and a length", writes: [bytes("POST /api/v1/readings HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")], answers: [status(400)], closes: true },
      { label: "a transfer coding that is not chunked", writes: [bytes(requestHead("POST", "/api/v1/readings", { "transfer-encoding": "gzip" }))], answers: [status(400, 501)], closes: true },
      { label: "no Host", writes: [bytes("GET /health HTTP/1.1\r\n\r\n")], answers: [status(400)], closes: true },
      { label: "a raw non-ASCII byte in the target", writes: [bytes("GET /api/v1/sensors/\xc0\xae HTTP/1.1\r\nHost: x\r\n\r\n")], answers: [status(400)], closes: true },
      { label: "headers over HTTP_MAX_HEADER_BYTES", writes: [bytes(requestHead("GET", "/health", { "x-big": "a".repeat(40_000) }))], answers: [status(431)], closes: true },
      { label: "an expectation the node cannot meet", writes: [bytes(requestHead("GET", "/health", { expect: "the-unexpected" }))], answers: [status(417)] },
      { label: "100-continue", writes: [bytes(requestHead("PUT", "/api/v1/sensors/fz-s1", { ...json, "content-length": "2", expect: "100-continue", authorization: auth })), bytes("{}")], answers: [status(200)] }
    )
  ]
}

/** Every scenario, the rare slow one (a length that claims more than is sent: 408 after HTTP_REQUEST_TIMEOUT_MS) at a low weight. */
export const scenario = (ctx: ScenarioContext): fc.Arbitrary<Scenario> =>
  fc
    .oneof(
    ...scenarios(ctx).map((arbitrary) => ({ weight: 10, arbitrary })),
    {
      weight: 1,
      arbitrary: ctx.withBody.map((c) => ({
        label: `content-length over what is sent to ${c.op.id}`,
        writes: [bytes(headOf(c, ctx.authorization, { "content-type": "application/json", "content-length": String((c.body ?? "").length + 10) })), Buffer.from(c.body ?? "")],
        answers: [status(408)],
        closes: true
      }))
    }
    )
    // A failure report names the scenario instead of printing its bytes.
    .map((s) => Object.assign(s, { [fc.toStringMethod]: () => s.label }))

/**
 * Plays a scenario on a connection of its own and judges it: every answer owed arrives in time and
 * passes its check, and the connection's fate matches what the answers said: closed when the
 * scenario or the last answer says so, otherwise it must still answer `GET /health`.
 */
export const runScenario = async (port: number, s: Scenario, timeoutMs: number, tally: Tally): Promise<void> => {
  const connection = await RawConnection.open(port)
  try {
    for (const w of s.writes) connection.write(w)
    let last: RawResponse | null = null
    for (const check of s.answers) {
      last = await connection.next(timeoutMs).catch((e: unknown) => {
        throw new Error(`${s.label}: ${String(e)}`)
      })
      tally.add(String(last.status))
      expect(last.status, `${s.label}: ${last.body.slice(0, 200)}`).toBeLessThan(500)
      check(last)
    }
    if (s.closes === true || last?.headers.connection?.toLowerCase() === "close") {
      tally.add("connection: close")
      await connection.closedWithin(timeoutMs)
      return
    }
    expect(last?.headers.connection?.toLowerCase(), s.label).toBe("keep-alive")
    connection.write(requestHead("GET", "/health"))
    const next = await connection.next(timeoutMs).catch((e: unknown) => {
      throw new Error(`${s.label}: the keep-alive connection did not serve the next request: ${String(e)}`)
    })
    expect(next.status, s.label).toBe(200)
    tally.add("kept alive")
  } finally {
    connection.destroy()
  }
}
