/**
 * What the node answers when Node's HTTP parser gives up on a connection: bytes that are not
 * HTTP/1.1 (400), headers over HTTP_MAX_HEADER_BYTES (431), a request not received within
 * HTTP_REQUEST_TIMEOUT_MS (408). A JSON error in the API's shape, then the connection closes.
 * Unlike Node's default, which destroys the socket at once, the answers the node still owes on that
 * connection (requests pipelined before the bad bytes) go out first.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Duplex } from "node:stream"
import { STATUS_CODES } from "node:http"

/** Writes an answer straight to a socket that the HTTP machinery no longer serves, then closes it. */
export const answerAndClose = (socket: Duplex, status: number, error: string, message: string, headers: Record<string, string> = {}): void => {
  const body = JSON.stringify({ error, message })
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
    "content-type: application/json",
    `content-length: ${Buffer.byteLength(body)}`,
    "connection: close",
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)
  ]
  socket.on("error", () => {})
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`)
}

const codeOf = (e: unknown): string => (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : "")
const reasonOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "reason" in e && typeof e.reason === "string" ? e.reason : e instanceof Error ? e.message : String(e)

/** The answer to a parser's error, or null when the client is gone. */
const answerTo = (e: unknown): readonly [status: number, error: string, message: string] | null => {
  switch (codeOf(e)) {
    case "ECONNRESET":
      return null
    case "HPE_HEADER_OVERFLOW":
      return [431, "headers_too_large", "headers: over HTTP_MAX_HEADER_BYTES"]
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "request_timeout", "request: not received in time (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS)"]
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return [413, "payload_too_large", "body: chunk extensions over the limit"]
    default:
      return [400, "bad_request", `request: not HTTP/1.1 (${reasonOf(e)})`]
  }
}

export class ClientErrors {
  private readonly inFlight = new WeakMap<Duplex, Map<ServerResponse, IncomingMessage>>()
  private readonly refused = new WeakSet<Duplex>()

  /** `lingerMs`: how long a connection that was refused may stay half-closed before it is cut. */
  constructor(private readonly lingerMs: () => number) {}

  /** The response to `request`, owed on its socket until it has been written. */
  track(request: IncomingMessage, response: ServerResponse): void {
    let owed = this.inFlight.get(request.socket)
    if (owed === undefined) {
      owed = new Map()
      this.inFlight.set(request.socket, owed)
    }
    const map = owed
    const done = () => map.delete(response)
    response.once("finish", done)
    response.once("close", done)
    map.set(response, request)
  }

  /** Answers the parser's error once the answers still owed on the socket are out, and closes it. */
  refuse(e: unknown, socket: Duplex): void {
    if (this.refused.has(socket)) return
    this.refused.add(socket)
    const answer = answerTo(e)
    if (answer === null || !socket.writable) {
      socket.destroy()
      return
    }
    const cut = setTimeout(() => socket.destroy(), this.lingerMs())
    cut.unref()
    socket.once("close", () => clearTimeout(cut))
    // Answers owed to requests received whole; the one still arriving gets this answer instead.
    const owed = [...(this.inFlight.get(socket) ?? [])].flatMap(([response, request]) => (request.complete ? [response] : []))
    let left = owed.length
    const answerNow = () => {
      if (socket.writable) answerAndClose(socket, ...answer)
    }
    if (left === 0) answerNow()
    for (const response of owed) {
      const settled = () => {
        if (--left === 0) answerNow()
      }
      response.once("finish", settled)
      response.once("close", settled)
    }
  }
}
