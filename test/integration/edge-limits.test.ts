/**
 * The HTTP server's own limits, on a real node: slow headers and slow bodies are cut off with 408,
 * oversized headers answer 431, every body is bounded by MAX_BODY_BYTES (413), declared or chunked,
 * a body the node does not read does not cost the keep-alive connection its next request, and
 * WebSocket connections are limited per client address (429 + Retry-After).
 */
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
import { chunked, RawConnection, requestHead } from "../support/raw-http.js"
import { openSocket, wsUrl } from "../support/ws-client.js"

/** Writes `chunks` to a raw TCP connection, then waits; resolves with what the server sent and how long it kept the connection. */
const rawExchange = (port: number, chunks: ReadonlyArray<string>, maxMs: number): Promise<{ readonly text: string; readonly closedAfterMs: number }> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const socket = connect(port, "127.0.0.1")
    let text = ""
    const guard = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the connection open for more than ${maxMs} ms`))
    }, maxMs)
    socket.on("data", (d) => {
      text += d.toString()
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(guard)
      resolve({ text, closedAfterMs: Date.now() - started })
    })
    socket.on("connect", () => {
      for (const c of chunks) socket.write(c)
    })
  })

describe("edge limits", () => {
  let db: TestDatabase
  let node: RunningNode
  let port = 0

  beforeAll(async () => {
    db = await createTestDatabase("edge_limits")
    node = await startNode({
      DATABASE_URL: db.url,
      HTTP_HEADERS_TIMEOUT_MS: "400",
      HTTP_REQUEST_TIMEOUT_MS: "800",
      HTTP_MAX_HEADER_BYTES: "4096",
      MAX_BODY_BYTES: "2048",
      LIVE_MAX_CONNECTIONS_PER_IP: "2"
    })
    port = Number(new URL(node.url).port)
  }, 60_000)

  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("cuts off a client that sends its headers too slowly (slowloris) with 408", async () => {
    const r = await rawExchange(port, ["GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n"], 5_000)
    expect(r.text).toMatch(/^HTTP\/1\.1 408/)
    expect(r.closedAfterMs).toBeLessThan(2_000)
  })

  it("cuts off a body that arrives too slowly with 408", async () => {
    const head = "POST /api/v1/readings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    const r = await rawExchange(port, [head, '{"readings":['], 5_000)
    expect(r.text).toMatch(/^HTTP\/1\.1 408/)
    expect(r.closedAfterMs).toBeLessThan(3_000)
  })

  it("answers 431 to headers over HTTP_MAX_HEADER_BYTES", async () => {
    const r = await fetch(`${node.url}/health`, { headers: { "x-big": "a".repeat(8_000) } })
    expect(r.status).toBe(431)
  })

  it("bounds every body, not only ingest's: a sensor config over MAX_BODY_BYTES answers 413", async () => {
    const r = await fetch(`${node.url}/api/v1/sensors/big-body`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: [], padding: "x".repeat(10_000) })
    })
    expect(r.status).toBe(413)
    expect(await r.json()).toMatchObject({ error: "payload_too_large", message: expect.stringContaining("MAX_BODY_BYTES") })
    const ok = await fetch(`${node.url}/api/v1/sensors/big-body`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" })
    expect(ok.status).toBe(200)
    // An oversized ingest body is refused the same way and counted as a malformed one.
    const malformed = 'flowmesh_readings_total{transport="http",outcome="malformed"}'
    const before = await counterValue(node.url, malformed)
    const ingest = await fetch(`${node.url}/api/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ readings: [{ sensor: "a", value: 1, pad: "x".repeat(5_000) }] })
    })
    expect(ingest.status).toBe(413)
    expect(await metricValue(node.url, malformed)).toBe(before + 1)
  })

  const MAX_BODY = 2048
  const health = requestHead("GET", "/health")

  it.each([
    ["/api/v1/readings", "POST"],
    ["/api/v1/sensors/r%2Fa", "PUT"],
    ["/api/v1/webhooks/w1", "PUT"]
  ])("answers a chunked body over MAX_BODY_BYTES to %s with 413, as one with Content-Length, and keeps the connection", async (path, method) => {
    const raw = await RawConnection.open(port)
    const body = Buffer.from(JSON.stringify({ readings: [], pad: "x".repeat(MAX_BODY + 100) }))
    raw.write(Buffer.concat([Buffer.from(requestHead(method, path, { "content-type": "application/json", "transfer-encoding": "chunked" })), chunked(body, 500)]))
    const answer = await raw.next(5_000)
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.body)).toEqual({
      error: "payload_too_large",
      message: `body: ${body.length} bytes; the limit is ${MAX_BODY} bytes (MAX_BODY_BYTES)`
    })
    expect(answer.headers.connection).toBe("keep-alive")
    raw.write(health)
    expect((await raw.next(5_000)).status).toBe(200)
    raw.destroy()
  })

  it("reads a refused body only up to twice MAX_BODY_BYTES: a longer one, chunked or declared, is answered with Connection: close", async () => {
    const endless = await RawConnection.open(port)
    endless.write(requestHead("POST", "/api/v1/readings", { "content-type": "application/json", "transfer-encoding": "chunked" }))
    for (let i = 0; i < 10; i++) endless.write(chunked(Buffer.alloc(1000, "x"), 1000).subarray(0, -5))
    const cut = await endless.next(5_000)
    expect(cut.status).toBe(413)
    expect(cut.headers.connection).toBe("close")
    expect(JSON.parse(cut.body).message).toMatch(/^body: more than \d+ bytes; the limit is 2048 bytes \(MAX_BODY_BYTES\)$/)
    await endless.closedWithin(5_000)
    const declared = await RawConnection.open(port)
    declared.write(requestHead("PUT", "/api/v1/sensors/a", { "content-type": "application/json", "content-length": String(10 * MAX_BODY) }))
    const refused = await declared.next(5_000)
    expect(refused.status).toBe(413)
    expect(refused.headers.connection).toBe("close")
    await declared.closedWithin(5_000)
  })

  it.each([
    ["an unknown route", requestHead("POST", "/api/v1/nothing", { "content-length": "5" }), 404],
    ["a wrong method", requestHead("DELETE", "/api/v1/readings", { "content-length": "5" }), 405],
    ["/health", requestHead("GET", "/health", { "content-length": "5" }), 200],
    ["a refused content type", requestHead("PUT", "/api/v1/sensors/a", { "content-type": "text/plain", "content-length": "5" }), 415]
  ])("drains the unread body of a request to %s: the keep-alive connection serves the next request", async (_, head, status) => {
    const raw = await RawConnection.open(port)
    // The body arrives after the answer could have been sent, and the next request right behind it.
    raw.write(head)
    const first = raw.next(5_000)
    raw.write(`hello${health}`)
    const answer = await first
    expect(answer.status).toBe(status)
    expect(answer.headers.connection).toBe("keep-alive")
    expect((await raw.next(5_000)).status).toBe(200)
    expect(raw.closed).toBe(false)
    raw.destroy()
  })

  it("limits dashboard connections per client address (429 with Retry-After), and frees the slot on close", async () => {
    const a = await openSocket(wsUrl(node.url, "/ws/live"))
    const b = await openSocket(wsUrl(node.url, "/ws/live"))
    const refused = await openSocket(wsUrl(node.url, "/ws/live")).then(
      () => null,
      (e: unknown) => e
    )
    expect(refused).toMatchObject({ status: 429, headers: { "retry-after": "1" } })
    expect(String((refused as { body: string }).body)).toContain("LIVE_MAX_CONNECTIONS_PER_IP")
    await a.close()
    // The node frees the slot when it sees the close: retry until it has (bounded), no fixed wait.
    const deadline = Date.now() + 10_000
    let c = await openSocket(wsUrl(node.url, "/ws/live")).catch(() => null)
    while (c === null && Date.now() < deadline) c = await openSocket(wsUrl(node.url, "/ws/live")).catch(() => null)
    if (c === null) throw new Error("the closed dashboard's slot was not freed within 10 s")
    await Promise.all([b.close(), c.close()])
  })
})
