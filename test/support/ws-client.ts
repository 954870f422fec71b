/** A WebSocket client for tests: every frame it receives is kept, and a test awaits the ones it needs. */
import WebSocket from "ws"

export interface Frame {
  readonly type: string
  readonly [key: string]: unknown
}

export interface TestSocket {
  readonly ws: WebSocket
  readonly frames: Array<Frame>
  readonly send: (frame: unknown) => void
  /** Resolves with the first frame (from `from` on) that matches, or fails after `timeoutMs`. */
  readonly next: (match: (f: Frame) => boolean, timeoutMs?: number, from?: number) => Promise<Frame>
  /** Resolves when `count` frames match. */
  readonly collect: (match: (f: Frame) => boolean, count: number, timeoutMs?: number) => Promise<Array<Frame>>
  readonly closed: Promise<{ code: number; reason: string }>
  readonly close: () => Promise<void>
}

const isFrame = (u: unknown): u is Frame => typeof u === "object" && u !== null && "type" in u && typeof u.type === "string"

export const wsUrl = (httpUrl: string, path: string) => httpUrl.replace(/^http/, "ws") + path

export const openSocket = (url: string, options: WebSocket.ClientOptions = {}): Promise<TestSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    const frames: Array<Frame> = []
    const waiters = new Set<() => void>()
    ws.on("message", (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      if (isFrame(parsed)) frames.push(parsed)
      for (const w of waiters) w()
    })
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.once("close", (code, reason) => {
        r({ code, reason: reason.toString() })
        for (const w of waiters) w()
      })
    )
    const waitFor = <A>(check: () => A | undefined, timeoutMs: number, what: string) =>
      new Promise<A>((res, rej) => {
        const attempt = () => {
          const found = check()
          if (found === undefined) return false
          clearTimeout(timer)
          waiters.delete(wake)
          res(found)
          return true
        }
        const wake = () => {
          attempt()
        }
        const timer = setTimeout(() => {
          waiters.delete(wake)
          rej(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames so far: ${JSON.stringify(frames.slice(-5))}`))
        }, timeoutMs)
        if (!attempt()) waiters.add(wake)
      })
    const socket: TestSocket = {
      ws,
      frames,
      send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
      next: (match, timeoutMs = 10_000, from = 0) => waitFor(() => frames.slice(from).find(match), timeoutMs, "a matching frame"),
      collect: (match, count, timeoutMs = 10_000) =>
        waitFor(
          () => {
            const found = frames.filter(match)
            return found.length >= count ? found : undefined
          },
          timeoutMs,
          `${count} matching frames`
        ),
      closed,
      close: () => {
        if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
        ws.close()
        return closed.then(() => undefined)
      }
    }
    ws.once("open", () => resolve(socket))
    ws.once("error", reject)
    ws.once("unexpected-response", (_req, res) => {
      let body = ""
      res.on("data", (d: Buffer) => {
        body += d.toString()
      })
      res.on("end", () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body, headers: res.headers })))
    })
  })
