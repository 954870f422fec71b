/**
 * The node's HTTP server. WebSocket upgrades on the paths the node serves itself (`/ws/devices`,
 * `/ws/live`) go straight to the `ws` endpoints, which need what `@effect/platform`'s socket layer
 * does not offer: a frame size limit (close 1009), pausing a socket for TCP backpressure, ping/pong.
 * Every other request, upgrade or not, goes to the HttpApp as before; one whose body has no
 * declared length (chunked) is read here first, within MAX_BODY_BYTES.
 */
import { IncomingMessage, Server, ServerResponse } from "node:http"
import { Duplex } from "node:stream"
import { Effect } from "effect"
import { AppConfig } from "../../config.js"
import { answerAndClose, ClientErrors } from "../client-errors.js"
import { type WsEndpoint, wsRejected } from "../../telemetry/metrics.js"

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void

const pathOf = (url: string | undefined) => {
  const raw = url ?? "/"
  const q = raw.indexOf("?")
  return q === -1 ? raw : raw.slice(0, q)
}

/** A chunked body past MAX_BODY_BYTES: how much of it was read, and whether it ended within the drain. */
export interface OversizedBody {
  readonly bytes: number
  readonly ended: boolean
}

/**
 * How far past MAX_BODY_BYTES the node reads a body it refuses, so that the connection can serve
 * the next request: as far again. A longer body is answered with `Connection: close` instead.
 */
export const drainBound = (maxBodyBytes: number): number => 2 * maxBodyBytes

export class EdgeHttpServer extends Server {
  private readonly upgrades = new Map<string, UpgradeHandler>()
  private readonly oversized = new WeakMap<IncomingMessage, OversizedBody>()
  /** A connection the parser gave up on is cut once its answer has had HTTP_HEADERS_TIMEOUT_MS to leave. */
  private readonly clientErrors = new ClientErrors(() => this.headersTimeout)

  /** The bound of a chunked body read here (MAX_BODY_BYTES). */
  maxBodyBytes = 1024 * 1024

  /** Serves well-formed ingest requests without the HttpApi path, when installed (see ingest-lane.ts); false passes a request on. */
  ingestLane: ((request: IncomingMessage, response: ServerResponse) => boolean) | null = null

  /** How long `close()` lets in-flight requests finish before cutting their connections. */
  drainTimeoutMs = 10_000

  /**
   * Stops accepting and waits for in-flight requests, but not forever: a request stuck behind a
   * shard that is moving would hold the node's shutdown open. Past the drain timeout the
   * connections are cut; the client retries elsewhere (what was committed answers `duplicate`).
   */
  override close(callback?: (err?: Error) => void): this {
    const cut = setTimeout(() => this.closeAllConnections(), this.drainTimeoutMs)
    cut.unref()
    return super.close((err) => {
      clearTimeout(cut)
      callback?.(err)
    })
  }

  route(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler)
  }

  unroute(path: string): void {
    this.upgrades.delete(path)
  }

  /** The chunked body of this request that went past MAX_BODY_BYTES (the app sees it empty), if it did. */
  oversizedBody(request: IncomingMessage): OversizedBody | undefined {
    return this.oversized.get(request)
  }

  /**
   * Reads a chunked body up to `maxBodyBytes`, then hands on a request of known length with that
   * body: the platform's own bound would destroy the request past it, and with it the socket the
   * 413 needs. Past the bound the body is read on and dropped up to the drain bound, and the
   * request handed on is empty and marked (`oversizedBody`). A body that never ends is cut by
   * HTTP_REQUEST_TIMEOUT_MS like any other.
   */
  private readChunked(request: IncomingMessage, forward: (copy: IncomingMessage) => void): void {
    const chunks: Array<Buffer> = []
    let bytes = 0
    const handOn = (body: Buffer | null, ended: boolean) => {
      request.off("data", onData)
      request.off("end", onEnd)
      const copy = new IncomingMessage(request.socket)
      copy.method = request.method
      copy.url = request.url
      copy.httpVersion = request.httpVersion
      copy.httpVersionMajor = request.httpVersionMajor
      copy.httpVersionMinor = request.httpVersionMinor
      const { "transfer-encoding": _chunked, ...headers } = request.headers
      copy.headers = { ...headers, "content-length": String(body?.length ?? 0) }
      if (body === null) this.oversized.set(copy, { bytes, ended })
      else if (body.length > 0) copy.push(body)
      copy.push(null)
      copy.complete = true
      forward(copy)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= this.maxBodyBytes) chunks.push(chunk)
      else if (bytes > drainBound(this.maxBodyBytes)) handOn(null, false)
      else chunks.length = 0
    }
    const onEnd = () => handOn(bytes > this.maxBodyBytes ? null : Buffer.concat(chunks, bytes), true)
    request.on("data", onData)
    request.once("end", onEnd)
  }

  override emit(event: string, ...args: Array<unknown>): boolean {
    if (event === "clientError") {
      const [error, socket] = args
      if (socket instanceof Duplex) {
        this.clientErrors.refuse(error, socket)
        return true
      }
    }
    if (event === "request") {
      const [request, response] = args
      if (request instanceof IncomingMessage && response instanceof ServerResponse) this.clientErrors.track(request, response)
      // A plain request to a WebSocket path: say what it takes instead of a bare 404.
      if (request instanceof IncomingMessage && response instanceof ServerResponse && this.upgrades.has(pathOf(request.url))) {
        const body = JSON.stringify({ error: "upgrade_required", message: `${pathOf(request.url)} is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)` })
        response.writeHead(426, { "content-type": "application/json", upgrade: "websocket", connection: "Upgrade" }).end(body)
        return true
      }
      if (request instanceof IncomingMessage && response instanceof ServerResponse && this.ingestLane?.(request, response) === true) return true
      if (request instanceof IncomingMessage && request.headers["transfer-encoding"] !== undefined) {
        this.readChunked(request, (copy) => super.emit("request", copy, response))
        return true
      }
    }
    if (event === "upgrade") {
      const [request, socket, head] = args
      if (request instanceof IncomingMessage && socket instanceof Duplex && Buffer.isBuffer(head)) {
        const handler = this.upgrades.get(pathOf(request.url))
        if (handler !== undefined) {
          handler(request, socket, head)
          return true
        }
      }
    }
    return super.emit(event, ...args)
  }
}

/**
 * Slow clients are cut off: headers must arrive within HTTP_HEADERS_TIMEOUT_MS and the whole
 * request (body included) within HTTP_REQUEST_TIMEOUT_MS, or Node answers 408 and closes. Node
 * checks those deadlines every `connectionsCheckingInterval` (30 s by default, longer than the
 * deadlines themselves), so it is set to a fraction of the shorter one.
 */
export class EdgeServer extends Effect.Service<EdgeServer>()("flowmesh/EdgeServer", {
  effect: Effect.map(AppConfig, ({ ingest, http }) => {
    const server = new EdgeHttpServer({
      maxHeaderSize: http.maxHeaderBytes,
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(http.headersTimeoutMs / 4)))
    })
    server.drainTimeoutMs = ingest.drainTimeoutMs
    server.maxBodyBytes = ingest.maxBodyBytes
    return { server } as const
  })
}) {}

/** Answers an upgrade request with a plain HTTP error (JSON body) and closes the socket. */
export const refuseUpgrade = answerAndClose

/** The query parameters of an upgrade request. */
export const queryOf = (request: IncomingMessage): URLSearchParams => {
  const url = request.url ?? ""
  const q = url.indexOf("?")
  return new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
}

export interface Admission {
  readonly endpoint: WsEndpoint
  readonly closing: boolean
  readonly open: number
  readonly limit: number
  /** The setting that holds the limit, named in the refusal. */
  readonly setting: string
  /** Connections from the same client address, and their limit and its setting. */
  readonly openFromIp: number
  readonly limitPerIp: number
  readonly settingPerIp: string
  readonly retryAfterSeconds: number
}

/** Refuses (503 + Retry-After) an upgrade while the node stops or holds its limit of connections. */
export const admitUpgrade = (socket: Duplex, a: Admission): boolean => {
  const retryAfter = { "retry-after": String(a.retryAfterSeconds) }
  if (a.closing) {
    wsRejected(a.endpoint, "shutdown").inc()
    refuseUpgrade(socket, 503, "unavailable", "this node is shutting down; connect to another node", retryAfter)
    return false
  }
  if (a.open >= a.limit) {
    wsRejected(a.endpoint, "limit").inc()
    refuseUpgrade(
      socket,
      503,
      "too_many_connections",
      `this node holds ${a.open} ${a.endpoint === "devices" ? "device" : "dashboard"} connections, its limit (${a.setting}); retry later or connect to another node`,
      retryAfter
    )
    return false
  }
  if (a.openFromIp >= a.limitPerIp) {
    wsRejected(a.endpoint, "ip_limit").inc()
    refuseUpgrade(
      socket,
      429,
      "too_many_connections",
      `this address holds ${a.openFromIp} ${a.endpoint === "devices" ? "device" : "dashboard"} connections to this node, its limit (${a.settingPerIp}); close some or retry later`,
      retryAfter
    )
    return false
  }
  return true
}

/** Open connections per client address, for the per-IP limits. */
export class ConnectionsPerIp {
  private readonly counts = new Map<string, number>()

  count(ip: string): number {
    return this.counts.get(ip) ?? 0
  }

  add(ip: string): void {
    this.counts.set(ip, this.count(ip) + 1)
  }

  remove(ip: string): void {
    const n = this.count(ip) - 1
    if (n <= 0) this.counts.delete(ip)
    else this.counts.set(ip, n)
  }
}

export const clientAddress = (request: IncomingMessage): string => request.socket.remoteAddress ?? "unknown"
