/**
 * `WS /ws/devices` against a real node on real PostgreSQL, with real WebSocket clients: acks pair
 * with frames and follow the HTTP rules, bad frames get precise error frames, floods and oversized
 * frames close the connection, a device that stops reading (or one too far ahead of its acks) is
 * pushed back on by TCP, dead connections are reaped, connections are limited per node and per
 * address, and a stopping node refuses new ones and answers what it owes before closing 1001.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, lockTable, type TestDatabase } from "../support/databases.js"
import { until } from "../support/hook-receiver.js"
import { awaitMetric, counterValue, metricValue } from "../support/metrics.js"
import { type RunningNode, startNode } from "../support/node-harness.js"
import { type Frame, openSocket, wsUrl } from "../support/ws-client.js"

const isAck = (seq: number) => (f: Frame) => f.type === "ack" && f.seq === seq
const devices = (node: RunningNode, query = "") => openSocket(wsUrl(node.url, `/ws/devices${query}`))
const FRAMES_IN = 'flowmesh_ws_frames_total{endpoint="devices",direction="in"}'
/** Resolves once the socket holds `count` frames (without rescanning them on every message). */
const framesReach = (frames: ReadonlyArray<Frame>, count: number) =>
  until(`${count} frames`, async () => (frames.length >= count ? true : undefined), 60_000)

describe("WS /ws/devices", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("ws_devices")
    node = await startNode({
      DATABASE_URL: db.url,
      WS_BAD_FRAME_LIMIT: "6",
      WS_MAX_FRAME_BYTES: "4096",
      WS_MAX_DEVICE_CONNECTIONS: "30",
      WS_HEARTBEAT_MS: "300"
    })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("acks every frame by seq after its readings are durable, and counts match PostgreSQL", async () => {
    const socket = await devices(node, "?ack=durable")
    const t0 = Date.now() - 60_000
    let readings = 0
    for (let seq = 0; seq < 200; seq++) {
      const n = 1 + (seq % 3)
      socket.send({
        type: "readings",
        seq,
        readings: Array.from({ length: n }, (_, i) => ({ sensor: `ack-${(seq + i) % 20}`, ts: t0 + seq * 10 + i, value: seq + i }))
      })
      readings += n
    }
    const acks = await socket.collect((f) => f.type === "ack", 200)
    expect(new Set(acks.map((a) => a.seq)).size).toBe(200)
    const accepted = acks.reduce((sum, a) => sum + Number(a.accepted), 0)
    expect(acks.every((a) => a.durable === true)).toBe(true)
    const rows = await node.sql<{ n: string }>(
      "select count(*)::text as n from readings r join sensors s on s.key = r.sensor_key where s.id like 'ack-%'"
    )
    expect(Number(rows[0]?.n)).toBe(accepted)
    expect(accepted + acks.reduce((sum, a) => sum + (a.rejected as Array<unknown>).length, 0)).toBe(readings)
    await socket.close()
  })

  it("answers per reading with the same rules as HTTP: duplicates and out-of-order are rejected by index", async () => {
    const socket = await devices(node)
    const ts = Date.now() - 10_000
    socket.send({ type: "readings", seq: 1, readings: [{ sensor: "rules-1", ts, value: 1 }] })
    await socket.next(isAck(1))
    socket.send({
      type: "readings",
      seq: 2,
      readings: [
        { sensor: "rules-1", ts, value: 1 },
        { sensor: "rules-1", ts: ts + 1000, value: 2 },
        { sensor: "rules-1", ts: ts - 5000, value: 3 }
      ]
    })
    const ack = await socket.next(isAck(2))
    expect(ack).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 0, sensor: "rules-1", reason: "duplicate" },
        { index: 2, sensor: "rules-1", reason: "out_of_order" }
      ]
    })
    await socket.close()
  })

  it("coalesces one-reading frames from many connections into batches per sensor", async () => {
    const batchesBefore = await metricValue(node.url, "flowmesh_ws_batch_readings_count")
    const readingsBefore = await metricValue(node.url, "flowmesh_ws_batch_readings_sum")
    const sockets = await Promise.all(Array.from({ length: 10 }, () => devices(node, "?ack=accepted")))
    const t0 = Date.now() - 30_000
    sockets.forEach((s, c) => {
      for (let seq = 0; seq < 50; seq++) s.send({ type: "readings", seq, readings: [{ sensor: `co-${seq % 4}`, ts: t0 + seq * 10 + c, value: seq }] })
    })
    await Promise.all(sockets.map((s) => s.collect((f) => f.type === "ack", 50)))
    const batches = (await metricValue(node.url, "flowmesh_ws_batch_readings_count")) - batchesBefore
    const readings = (await metricValue(node.url, "flowmesh_ws_batch_readings_sum")) - readingsBefore
    expect(readings).toBe(500)
    // 500 one-reading frames over 4 sensors: far fewer actor messages than frames.
    expect(batches).toBeLessThan(250)
    await Promise.all(sockets.map((s) => s.close()))
  })

  it("answers bad frames with an error frame naming the field, and keeps the connection open", async () => {
    const socket = await devices(node)
    socket.send("{not json")
    socket.send({ type: "readings", readings: [] })
    socket.send({ type: "readings", seq: 7, readings: [{ sensor: "bad frame!", value: 1 }, { sensor: "ok", value: "x" }] })
    socket.send({ type: "hello", seq: 8 })
    socket.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    const errors = await socket.collect((f) => f.type === "error", 5)
    expect(errors[0]).toMatchObject({ code: "malformed_json" })
    expect(String(errors[0]?.message)).toMatch(/position 1/)
    expect(errors[1]).toMatchObject({ code: "validation_failed", message: expect.stringMatching(/^seq: is missing/) })
    expect(errors[2]).toMatchObject({ seq: 7, code: "validation_failed" })
    expect(errors[2]?.issues).toEqual([
      { path: "readings[0].sensor", message: expect.any(String) },
      { path: "readings[1].value", message: expect.any(String) }
    ])
    expect(errors[3]).toMatchObject({ seq: 8, code: "unknown_type", message: 'type: expected "readings", got "hello"' })
    expect(errors[4]).toMatchObject({ code: "unsupported_frame" })
    socket.send({ type: "readings", seq: 9, readings: [{ sensor: "after-errors", value: 1 }] })
    expect(await socket.next(isAck(9))).toMatchObject({ accepted: 1 })
    await socket.close()
  })

  it("closes with 1008 after a flood of bad frames", async () => {
    const socket = await devices(node)
    for (let i = 0; i < 10; i++) socket.send("nope")
    const closed = await socket.closed
    expect(closed.code).toBe(1008)
    expect(closed.reason).toMatch(/bad frames/)
    expect(socket.frames.filter((f) => f.type === "error").length).toBe(6)
  })

  it("closes with 1009 when a frame is over WS_MAX_FRAME_BYTES", async () => {
    const socket = await devices(node)
    socket.send({ type: "readings", seq: 1, readings: [{ sensor: "x".repeat(100), value: 1, pad: "y".repeat(5000) }] })
    expect((await socket.closed).code).toBe(1009)
  })

  it("refuses a bad ack mode with 400 naming the parameter, and connections past the limit with 503 and Retry-After", async () => {
    await expect(devices(node, "?ack=sometimes")).rejects.toMatchObject({ status: 400, body: expect.stringContaining("ack: expected") })
    const held = await Promise.all(Array.from({ length: 30 }, () => devices(node)))
    const refused = await devices(node).then(
      () => null,
      (e: { status: number; headers: Record<string, string>; body: string }) => e
    )
    expect(refused).toMatchObject({ status: 503, headers: { "retry-after": "1" } })
    expect(refused?.body).toContain("WS_MAX_DEVICE_CONNECTIONS")
    await Promise.all(held.map((s) => s.close()))
  })

  it("answers a plain HTTP request to a WebSocket path with 426 and what it takes", async () => {
    const response = await fetch(`${node.url}/ws/devices`)
    expect(response.status).toBe(426)
    expect(response.headers.get("upgrade")).toBe("websocket")
    expect(await response.json()).toMatchObject({ error: "upgrade_required", message: expect.stringContaining("WebSocket endpoint") })
  })

  it("reaps a connection that stops answering pings", async () => {
    const socket = await openSocket(wsUrl(node.url, "/ws/devices"), { autoPong: false })
    const closed = await socket.closed
    expect(closed.code).toBe(1006)
  })
})

describe("WS /ws/devices flow control and shutdown", () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("ws_flow")
  })
  afterAll(async () => {
    await db?.drop()
  })

  it("stops reading a device that does not read its answers, so the node's buffer stays bounded", async () => {
    const node = await startNode({ DATABASE_URL: db.url, WS_BAD_FRAME_LIMIT: "1000000", WS_SOCKET_HIGH_WATER_BYTES: "16384" })
    try {
      const socket = await devices(node)
      socket.ws.pause()
      const before = await counterValue(node.url, FRAMES_IN)
      // Each tiny frame costs the node an error frame ~7x its size; it must stop reading long before it has read them all.
      const sent = 400_000
      for (let i = 0; i < sent; i++) socket.ws.send("{}")
      // The node reads until the kernel's buffers hold all the answers it can place, then stops.
      await awaitMetric(node.url, 'flowmesh_ws_paused_connections{cause="outbound"}', (v) => v === 1, 30_000)
      expect((await metricValue(node.url, FRAMES_IN)) - before).toBeLessThan(sent)
      // Once the device reads again, every frame is answered: nothing was dropped.
      socket.ws.resume()
      await framesReach(socket.frames, sent)
      expect(socket.frames.length).toBe(sent)
      await socket.close()
    } finally {
      await node.stop()
    }
  })

  it("stops reading a device past WS_MAX_INFLIGHT_FRAMES unanswered frames, and answers every frame once it can", async () => {
    const node = await startNode({ DATABASE_URL: db.url, WS_MAX_INFLIGHT_FRAMES: "8" })
    try {
      const sensors = Array.from({ length: 10 }, (_, i) => `inflight-${i}`)
      for (const s of sensors) {
        const put = await fetch(`${node.url}/api/v1/sensors/${s}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ throttleRate: 1_000_000, throttleBurst: 1_000_000 }) })
        expect(put.status).toBe(200)
      }
      const socket = await devices(node, "?ack=durable")
      const before = await counterValue(node.url, FRAMES_IN)
      const sent = 5_000
      const t0 = Date.now() - 600_000
      // Durable acks wait for the commit, and the commit waits behind the lock: the frames stay unanswered.
      const writes = await lockTable(db.url, "readings")
      try {
        for (let seq = 0; seq < sent; seq++) socket.send({ type: "readings", seq, readings: [{ sensor: sensors[seq % sensors.length], ts: t0 + seq, value: seq }] })
        await awaitMetric(node.url, 'flowmesh_ws_paused_connections{cause="inflight"}', (v) => v === 1)
        expect((await metricValue(node.url, FRAMES_IN)) - before).toBeLessThan(sent)
        expect(socket.frames).toEqual([])
      } finally {
        await writes.release()
      }
      await framesReach(socket.frames, sent)
      expect(new Set(socket.frames.map((f) => f.seq)).size).toBe(sent)
      expect(socket.frames.filter((f) => !(f.type === "ack" && f.accepted === 1 && f.durable === true))).toEqual([])
      const rows = await node.sql<{ n: number }>("select count(*)::int4 as n from readings r join sensors s on s.key = r.sensor_key where s.id like 'inflight-%'")
      expect(rows[0]?.n).toBe(sent)
      await socket.close()
    } finally {
      await node.stop()
    }
  })

  it("limits device connections per client address (429 with Retry-After), and frees the slot on close", async () => {
    const node = await startNode({ DATABASE_URL: db.url, WS_MAX_DEVICE_CONNECTIONS_PER_IP: "2" })
    try {
      const a = await devices(node)
      const b = await devices(node)
      const refused = await devices(node).then(
        () => null,
        (e: { status: number; headers: Record<string, string>; body: string }) => e
      )
      expect(refused).toMatchObject({ status: 429, headers: { "retry-after": "1" } })
      expect(refused?.body).toContain("WS_MAX_DEVICE_CONNECTIONS_PER_IP")
      await a.close()
      // Admitted again once the node has seen the close.
      const c = await until("a free slot", () => devices(node).then((s) => s, () => undefined))
      c.send({ type: "readings", seq: 1, readings: [{ sensor: "per-ip", value: 1 }] })
      expect(await c.next(isAck(1))).toMatchObject({ accepted: 1 })
      await Promise.all([b.close(), c.close()])
    } finally {
      await node.stop()
    }
  })

  it("answers an error frame with retryAfterMs when the writer is full, and takes the frame when resent", async () => {
    const node = await startNode({ DATABASE_URL: db.url, WRITER_QUEUE_ROWS: "100" })
    try {
      const socket = await devices(node)
      const ts = Date.now() - 60_000
      const readings = Array.from({ length: 150 }, (_, i) => ({ sensor: "full-1", ts: ts + i, value: i }))
      socket.send({ type: "readings", seq: 1, readings })
      expect(await socket.next((f) => f.seq === 1)).toMatchObject({ type: "error", code: "unavailable", retryAfterMs: 1000 })
      socket.send({ type: "readings", seq: 2, readings: readings.slice(0, 50) })
      expect(await socket.next(isAck(2))).toMatchObject({ accepted: 50, durable: true })
      await socket.close()
    } finally {
      await node.stop()
    }
  })

  it("on shutdown answers every frame already read, then closes 1001 (dashboards too)", async () => {
    const node = await startNode({ DATABASE_URL: db.url })
    const socket = await devices(node, "?ack=durable")
    const dashboard = await openSocket(wsUrl(node.url, "/ws/live"))
    const ts = Date.now() - 60_000
    for (let seq = 0; seq < 300; seq++) socket.send({ type: "readings", seq, readings: [{ sensor: `stop-${seq % 7}`, ts: ts + seq, value: seq }] })
    await socket.next(isAck(0))
    await node.stop()
    const closed = await socket.closed
    expect(closed.code).toBe(1001)
    expect((await dashboard.closed).code).toBe(1001)
    const answered = socket.frames.filter((f) => f.type === "ack" || f.type === "error")
    // Frames the node read were all answered before the close; the rest were never read (the device resends them).
    expect(new Set(answered.map((f) => f.seq)).size).toBe(answered.length)
    expect(answered.every((f) => f.type === "ack")).toBe(true)
    const acked = answered.reduce((sum, a) => sum + Number(a.accepted), 0)
    const check = await startNode({ DATABASE_URL: db.url })
    try {
      const rows = await check.sql<{ n: string }>(
        "select count(*)::text as n from readings r join sensors s on s.key = r.sensor_key where s.id like 'stop-%'"
      )
      expect(Number(rows[0]?.n)).toBe(acked)
      expect(acked).toBeGreaterThan(0)
    } finally {
      await check.stop()
    }
  })

  it("refuses device and dashboard upgrades with 503 and Retry-After while it stops, and still answers the frames it had read", async () => {
    const node = await startNode({ DATABASE_URL: db.url, WS_SHUTDOWN_TIMEOUT_MS: "30000" })
    const socket = await devices(node, "?ack=durable")
    const ts = Date.now() - 60_000
    socket.send({ type: "readings", seq: 0, readings: [{ sensor: "stopping-1", ts, value: 0 }] })
    await socket.next(isAck(0))
    const writes = await lockTable(db.url, "readings")
    let stopping: Promise<void> | null = null
    try {
      const read = await metricValue(node.url, FRAMES_IN)
      socket.send({ type: "readings", seq: 1, readings: [{ sensor: "stopping-1", ts: ts + 1, value: 1 }] })
      await awaitMetric(node.url, FRAMES_IN, (v) => v > read)
      // The node stops while it owes that frame its durable ack (the commit waits behind the lock).
      stopping = node.stop()
      for (const path of ["/ws/devices", "/ws/live"]) {
        const refused = await until(`an upgrade to ${path} refused`, () =>
          openSocket(wsUrl(node.url, path)).then(
            async (s) => {
              await s.close()
              return undefined
            },
            (e: { status: number; headers: Record<string, string>; body: string }) => e
          )
        )
        expect(refused).toMatchObject({ status: 503, headers: { "retry-after": "1" } })
        expect(JSON.parse(refused.body)).toMatchObject({ error: "unavailable", message: expect.stringContaining("shutting down") })
      }
      await writes.release()
      expect(await socket.next(isAck(1))).toMatchObject({ accepted: 1, durable: true })
      expect((await socket.closed).code).toBe(1001)
    } finally {
      await writes.release()
      await (stopping ?? node.stop())
    }
  })
})
