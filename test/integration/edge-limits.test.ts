/**
 * The HTTP server's own limits, on a real node: slow headers and slow bodies are cut off with 408,
 * oversized headers answer 431, every body the framework reads is bounded by MAX_BODY_BYTES (413),
 * and WebSocket connections are limited per client address (429 + Retry-After).
 */
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
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
    await new Promise((r) => setTimeout(r, 50))
    const c = await openSocket(wsUrl(node.url, "/ws/live"))
    await Promise.all([b.close(), c.close()])
  })
})
