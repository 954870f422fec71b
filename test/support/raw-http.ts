/**
 * HTTP/1.1 over a bare TCP socket, for what `fetch` will not send or hides: chunked and lying
 * bodies, unread bodies on a keep-alive connection, pipelined requests, bytes a client library
 * refuses. Answers are read one after another off the same connection, so a test sees whether the
 * connection the node said it would keep still serves the next request.
 */
import { connect, type Socket } from "node:net"

export interface RawResponse {
  readonly status: number
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const HEAD_END = "\r\n\r\n"

/** One response at the start of `buffer`: the response and the bytes it took, or null while incomplete. */
const parseResponse = (buffer: Buffer, ended: boolean): { readonly response: RawResponse; readonly size: number } | null => {
  const headEnd = buffer.indexOf(HEAD_END)
  if (headEnd === -1) return null
  const [statusLine = "", ...lines] = buffer.subarray(0, headEnd).toString("latin1").split("\r\n")
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const start = headEnd + HEAD_END.length
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { response: { status, headers, body: "" }, size: start }
  const length = headers["content-length"]
  if (length !== undefined) {
    const end = start + Number(length)
    return buffer.length < end ? null : { response: { status, headers, body: buffer.subarray(start, end).toString("utf8") }, size: end }
  }
  if (headers["transfer-encoding"]?.includes("chunked") === true) {
    const parts: Array<Buffer> = []
    let at = start
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at)
      if (lineEnd === -1) return null
      const size = Number.parseInt(buffer.subarray(at, lineEnd).toString("latin1"), 16)
      const dataEnd = lineEnd + 2 + size
      if (buffer.length < dataEnd + 2) return null
      if (size === 0) return { response: { status, headers, body: Buffer.concat(parts).toString("utf8") }, size: dataEnd + 2 }
      parts.push(buffer.subarray(lineEnd + 2, dataEnd))
      at = dataEnd + 2
    }
  }
  // No length: the body runs to the end of the connection.
  return ended ? { response: { status, headers, body: buffer.subarray(start).toString("utf8") }, size: buffer.length } : null
}

export class RawConnection {
  private buffer = Buffer.alloc(0)
  private ended = false
  private waiter: (() => void) | null = null

  private constructor(private readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d])
      this.waiter?.()
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      this.ended = true
      this.waiter?.()
    })
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1")
      socket.once("connect", () => resolve(new RawConnection(socket)))
      socket.once("error", reject)
    })
  }

  /** Whether the node closed (or reset) the connection. */
  get closed(): boolean {
    return this.ended
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data)
  }

  /** The next final response (interim 1xx skipped); fails if the connection closes first or nothing complete comes within `ms`. */
  async next(ms: number): Promise<RawResponse> {
    const deadline = Date.now() + ms
    for (;;) {
      const parsed = parseResponse(this.buffer, this.ended)
      if (parsed !== null) {
        this.buffer = this.buffer.subarray(parsed.size)
        if (parsed.response.status >= 200) return parsed.response
        continue
      }
      if (this.ended) throw new Error(`the connection closed without a (complete) answer; got ${JSON.stringify(this.buffer.toString("latin1").slice(0, 200))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no answer within ${ms} ms; got ${JSON.stringify(this.buffer.toString("latin1").slice(0, 200))}`)
      await this.dataOrClose(left)
    }
  }

  /** Resolves once the node has closed the connection; fails after `ms`. */
  async closedWithin(ms: number): Promise<void> {
    const deadline = Date.now() + ms
    while (!this.ended) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`the connection is still open after ${ms} ms`)
      await this.dataOrClose(left)
    }
  }

  /** Resolves when bytes arrive, the connection closes, or `ms` pass. */
  private async dataOrClose(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.waiter = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.waiter = null
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** A request head (HTTP/1.1, Host set) with the given headers, ready for its body. */
export const requestHead = (method: string, target: string, headers: Readonly<Record<string, string>> = {}): string =>
  `${method} ${target} HTTP/1.1\r\nHost: flowmesh\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`

/** A body in chunks of at most `size` bytes, with the terminating chunk. */
export const chunked = (body: Buffer, size: number): Buffer => {
  const parts: Array<Buffer> = []
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size)
    parts.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"))
  }
  parts.push(Buffer.from("0\r\n\r\n"))
  return Buffer.concat(parts)
}
