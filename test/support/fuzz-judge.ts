/**
 * How the fuzz test judges an answer: never 5xx, a status the contract documents for the
 * operation, never a route miss (every case targets a route that exists), an error body in the
 * API's shape whose message names the field at fault (the hostile one, when a parameter was made
 * hostile), and a connection that keeps serving when the answer says keep-alive. Every answer is
 * tallied, so the run can show what the node was made to say.
 */
import { expect } from "vitest"
import type { RequestCase } from "./openapi-cases.js"
import { RawConnection, type RawResponse } from "./raw-http.js"

export class Tally {
  private readonly counts = new Map<string, number>()
  cases = 0

  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0
  }

  sum(match: (key: string) => boolean): number {
    let n = 0
    for (const [k, v] of this.counts) if (match(k)) n += v
    return n
  }

  toString(): string {
    return JSON.stringify(Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b))))
  }
}

/** What an error answer must look like: `{ error, message, details? }`. */
export const errorBodyOf = (r: RawResponse, where: string): { readonly error: string; readonly message: string } => {
  const body: unknown = JSON.parse(r.body)
  if (typeof body !== "object" || body === null || !("error" in body) || !("message" in body) || typeof body.error !== "string" || typeof body.message !== "string") {
    throw new Error(`${where}: ${r.status} without an error body: ${r.body.slice(0, 300)}`)
  }
  return { error: body.error, message: body.message }
}

/** `readings[3].value: ...`, `content-type: ...`, `body: ...`: the message starts with the field it is about. */
export const NAMES_A_FIELD = /^(?:[\w.[\]-]|"(?:[^"\\]|\\.)*")+: \S/
const INPUT_ERRORS = new Set([400, 413, 415, 422])
const ROUTE_MISSES = new Set(["not_found", "method_not_allowed"])

export const judgeAnswer = (c: RequestCase, r: RawResponse, tally: Tally): void => {
  const where = `${c.op.method} ${c.target} ${(c.body ?? "").slice(0, 300)} -> ${r.status} ${r.body.slice(0, 300)}`
  tally.add(String(r.status))
  expect(r.status, where).toBeLessThan(500)
  expect(c.op.statuses.has(r.status), `${where}: ${r.status} is not documented for ${c.op.id}`).toBe(true)
  if (r.status < 400) return
  const { error, message } = errorBodyOf(r, where)
  tally.add(`${r.status} ${error}`)
  expect(ROUTE_MISSES.has(error), `${where}: a route miss`).toBe(false)
  if (INPUT_ERRORS.has(r.status)) expect(message, where).toMatch(NAMES_A_FIELD)
  if (c.hostile.length > 0) {
    expect(r.status, where).toBe(400)
    expect(c.hostile, where).toContain(message.slice(0, message.indexOf(": ")))
  }
}

/**
 * One connection kept across cases, as a client with keep-alive would: a connection whose last
 * answer said keep-alive must serve the next request, one that said close must close.
 */
export class Wire {
  private connection: RawConnection | null = null

  constructor(
    private readonly port: number,
    private readonly timeoutMs: number,
    private readonly tally: Tally
  ) {}

  async exchange(request: Buffer): Promise<RawResponse> {
    if (this.connection?.closed === true) throw new Error("the node closed a connection whose last answer said keep-alive")
    this.connection ??= await RawConnection.open(this.port)
    const connection = this.connection
    connection.write(request)
    const answer = await connection.next(this.timeoutMs)
    await this.settle(connection, answer)
    return answer
  }

  /** After an answer that says close, the connection must close; after keep-alive it is kept. */
  async settle(connection: RawConnection, answer: RawResponse): Promise<void> {
    if (answer.headers.connection?.toLowerCase() !== "close") return
    this.tally.add("connection: close")
    await connection.closedWithin(this.timeoutMs)
    if (this.connection === connection) this.connection = null
  }

  close(): void {
    this.connection?.destroy()
    this.connection = null
  }
}

/** The request as bytes: the case's method, target and body, as the superuser. */
export const requestBytes = (c: RequestCase, authorization: string): Buffer => {
  const body = c.body === null ? null : Buffer.from(c.body, "utf8")
  const head = [`${c.op.method} ${c.target} HTTP/1.1`, "Host: flowmesh", `Authorization: ${authorization}`]
  if (body !== null) head.push("Content-Type: application/json", `Content-Length: ${body.length}`)
  return Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), body ?? Buffer.alloc(0)])
}
