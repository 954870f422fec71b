/** A plain HTTP server on loopback that answers 200 and keeps every webhook call it receives. */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedHook<Body> {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly text: string
  readonly body: Body
}

export interface HookReceiver<Body> {
  readonly port: number
  readonly received: Array<ReceivedHook<Body>>
  readonly close: () => void
}

export const startHookReceiver = async <Body>(): Promise<HookReceiver<Body>> => {
  const received: Array<ReceivedHook<Body>> = []
  const server = createServer((req, res) => {
    let text = ""
    req.on("data", (c: Buffer) => {
      text += c.toString()
    })
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, text, body: JSON.parse(text) as Body })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const address = server.address() as AddressInfo
  return { port: address.port, received, close: () => server.close() }
}

/** Polls `probe` every 25 ms until it yields a value, for up to `timeoutMs`. */
export const until = async <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
