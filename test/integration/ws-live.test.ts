/**
 * `WS /ws/live` against a real node: dashboards get their sensors' current state, then every
 * accepted reading in order, batched per interval; a dashboard that falls behind loses the oldest
 * items and is told so, and one that stops reading never holds up ingestion or other dashboards.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { counterValue, metricValue } from "../support/metrics.js"
import { postJson, type RunningNode, startNode } from "../support/node-harness.js"
import { type Frame, openSocket, type TestSocket, wsUrl } from "../support/ws-client.js"

interface Feed {
  readonly sensor: string
  readonly ts: Array<number>
  readonly values: Array<number>
}

const feedsOf = (frames: ReadonlyArray<Frame>, sensor: string): Array<number> =>
  frames.flatMap((f) => (f.type === "readings" ? (f.sensors as Array<Feed>).filter((s) => s.sensor === sensor).flatMap((s) => s.values) : []))

const waitForValues = async (socket: TestSocket, sensor: string, count: number, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (feedsOf(socket.frames, sensor).length < count) {
    if (Date.now() > deadline) throw new Error(`got ${feedsOf(socket.frames, sensor).length} of ${count} readings of ${sensor}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return feedsOf(socket.frames, sensor)
}

/** Resolves with the sensor's values so far once `value` is among them. */
const waitForValue = async (socket: TestSocket, sensor: string, value: number, timeoutMs = 15_000) => {
  await socket.next((f) => feedsOf([f], sensor).includes(value), timeoutMs)
  return feedsOf(socket.frames, sensor)
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

const DROPPED = 'flowmesh_live_items_dropped_total{reason="slow_client"}'

const ingest = (node: RunningNode, sensor: string, values: ReadonlyArray<number>, t0: number, ack = "durable") =>
  postJson(`${node.url}/api/v1/readings?ack=${ack}`, { readings: values.map((value, i) => ({ sensor, ts: t0 + i, value })) }).then((r) => {
    expect(r.status).toBe(202)
    return r
  })

const subscribe = async (node: RunningNode, sensors: ReadonlyArray<string>) => {
  const socket = await openSocket(wsUrl(node.url, "/ws/live"))
  socket.send({ type: "subscribe", sensors })
  const confirmed = await socket.next((f) => f.type === "subscribed")
  return { socket, confirmed }
}

describe("WS /ws/live", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("ws_live")
    node = await startNode({ DATABASE_URL: db.url, LIVE_INTERVAL_MS: "100", LIVE_MAX_SUBSCRIPTIONS: "3", LIVE_MAX_CONNECTIONS: "8" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("accepts a subscription to a sensor that does not exist yet, and streams it once it does, in order", async () => {
    const { socket, confirmed } = await subscribe(node, ["new-1"])
    expect(confirmed).toEqual({ type: "subscribed", sensors: [{ sensor: "new-1", state: null }], prefixes: [], alerts: false })
    const t0 = Date.now() - 60_000
    for (let i = 0; i < 20; i++) await ingest(node, "new-1", [i * 3, i * 3 + 1, i * 3 + 2], t0 + i * 10)
    const values = await waitForValues(socket, "new-1", 60)
    expect(values).toEqual(Array.from({ length: 60 }, (_, i) => i))
    const state = await socket.next((f) => f.type === "state")
    expect(state).toMatchObject({ sensor: "new-1", from: "unknown", to: "online" })
    await socket.close()
  })

  it("confirms with the sensor's current state", async () => {
    await ingest(node, "known-1", [41, 42], Date.now() - 5_000)
    const { socket, confirmed } = await subscribe(node, ["known-1"])
    expect(confirmed.sensors).toEqual([{ sensor: "known-1", state: expect.objectContaining({ sensor: "known-1", status: "online", lastValue: 42 }) }])
    await socket.close()
  })

  it("streams every sensor under a prefix once, also when the sensor is subscribed by id too", async () => {
    const { socket } = await subscribe(node, ["site-7/*", "site-7/pump"])
    const t0 = Date.now() - 5_000
    await ingest(node, "site-7/pump", [1, 2], t0)
    await ingest(node, "site-7/valve", [3], t0)
    await ingest(node, "site-8/pump", [4], t0)
    await waitForValues(socket, "site-7/valve", 1)
    expect(await waitForValues(socket, "site-7/pump", 2)).toEqual([1, 2])
    await ingest(node, "site-7/valve", [5], t0 + 10)
    expect(await waitForValues(socket, "site-7/valve", 2)).toEqual([3, 5])
    expect(feedsOf(socket.frames, "site-7/pump")).toEqual([1, 2])
    expect(feedsOf(socket.frames, "site-8/pump")).toEqual([])
    await socket.close()
  })

  it("sends at most one readings frame per interval, however many batches arrive", async () => {
    const { socket } = await subscribe(node, ["burst-1"])
    const t0 = Date.now() - 5_000
    const started = Date.now()
    await Promise.all(Array.from({ length: 40 }, (_, i) => ingest(node, "burst-1", [i], t0 + i, "accepted")))
    await waitForValues(socket, "burst-1", 40)
    const elapsed = Date.now() - started
    // Frames leave at least an interval apart, however the 40 batches were spread over time.
    const frames = socket.frames.filter((f) => f.type === "readings").length
    expect(frames).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1)
    await socket.close()
  })

  it("stops streaming after unsubscribe", async () => {
    const { socket } = await subscribe(node, ["unsub-1", "unsub-marker"])
    socket.send({ type: "unsubscribe", sensors: ["unsub-1", "never-subscribed"] })
    expect(await socket.next((f) => f.type === "unsubscribed")).toEqual({ type: "unsubscribed", sensors: ["unsub-1"], alerts: false })
    await ingest(node, "unsub-1", [1], Date.now() - 1000)
    // A later reading of a sensor it still watches: frames keep their order, so unsub-1 would have come first.
    await ingest(node, "unsub-marker", [2], Date.now() - 1000)
    await waitForValues(socket, "unsub-marker", 1)
    expect(feedsOf(socket.frames, "unsub-1")).toEqual([])
    await socket.close()
  })

  it("refuses subscriptions past LIVE_MAX_SUBSCRIPTIONS and bad entries, naming them", async () => {
    const socket = await openSocket(wsUrl(node.url, "/ws/live"))
    socket.send({ type: "subscribe", sensors: ["a", "b"] })
    await socket.next((f) => f.type === "subscribed")
    socket.send({ type: "subscribe", sensors: ["c", "d"] })
    expect(await socket.next((f) => f.type === "error")).toMatchObject({
      code: "too_many_subscriptions",
      message: expect.stringContaining("LIVE_MAX_SUBSCRIPTIONS")
    })
    socket.send({ type: "subscribe", sensors: ["ok", "not ok"] })
    expect(await socket.next((f) => f.type === "error" && f.code === "validation_failed")).toMatchObject({ message: expect.stringMatching(/^sensors\[1\]: /) })
    socket.send("{")
    expect(await socket.next((f) => f.type === "error" && f.code === "malformed_json")).toBeDefined()
    await socket.close()
  })

  it("refuses dashboards past LIVE_MAX_CONNECTIONS with 503 and Retry-After", async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => openSocket(wsUrl(node.url, "/ws/live"))))
    await expect(openSocket(wsUrl(node.url, "/ws/live"))).rejects.toMatchObject({ status: 503, headers: { "retry-after": "1" } })
    await Promise.all(held.map((s) => s.close()))
  })
})

describe("WS /ws/live for dashboards that fall behind", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("ws_lag")
    node = await startNode({ DATABASE_URL: db.url, LIVE_INTERVAL_MS: "1500", LIVE_BUFFER_READINGS: "100", WS_SOCKET_HIGH_WATER_BYTES: "16384" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("drops the oldest items past the buffer, counts them, and tells the dashboard it lagged", async () => {
    const { socket } = await subscribe(node, ["lag-1"])
    const before = await counterValue(node.url, DROPPED)
    const t0 = Date.now() - 60_000
    // A first reading leaves at once and opens a 1.5 s interval...
    await ingest(node, "lag-1", [-1], t0 - 1_000)
    await waitForValues(socket, "lag-1", 1)
    // ...inside which batches of 50 arrive: past 100 readings the oldest batches go. (A loaded
    // machine may spread the ten batches over more intervals: what each frame keeps changes, not the rules.)
    for (let b = 0; b < 10; b++) await ingest(node, "lag-1", Array.from({ length: 50 }, (_, i) => b * 50 + i), t0 + b * 50, "accepted")
    const values = await waitForValue(socket, "lag-1", 499)
    const lagged = socket.frames.filter((f) => f.type === "lagged")
    const dropped = lagged.reduce((sum, f) => sum + Number(f.dropped), 0)
    expect(lagged.length).toBeGreaterThanOrEqual(1)
    // Every reading was delivered or counted as dropped, in order, whole batches, the newest 100 delivered.
    expect(values.length - 1 + dropped).toBe(500)
    expect(dropped % 50).toBe(0)
    expect(values).toEqual([...values].sort((x, y) => x - y))
    expect(values.slice(-100)).toEqual(Array.from({ length: 100 }, (_, i) => 400 + i))
    expect(socket.frames.findIndex((f) => f.type === "lagged")).toBeLessThan(socket.frames.findLastIndex((f) => f.type === "readings"))
    expect((await metricValue(node.url, DROPPED)) - before).toBe(dropped)
    await socket.close()
  })
})

describe("WS /ws/live with a dashboard that stops reading", () => {
  let db: TestDatabase
  let node: RunningNode

  beforeAll(async () => {
    db = await createTestDatabase("ws_stall")
    node = await startNode({ DATABASE_URL: db.url, LIVE_INTERVAL_MS: "50", LIVE_BUFFER_READINGS: "40000", WS_SOCKET_HIGH_WATER_BYTES: "16384" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("a dashboard that stops reading costs only its buffer: ingestion keeps its pace and other dashboards get everything", async () => {
    const sensors = ["slow/a", "slow/b", "slow/c", "slow/d"]
    const batch = 2_500
    for (const s of sensors) {
      const put = await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ throttleRate: 1_000_000, throttleBurst: 1_000_000 })
      })
      expect(put.status).toBe(200)
    }
    const { socket: healthy } = await subscribe(node, ["slow/*"])
    const t0 = Date.now() - 600_000
    let sent = 0
    /** One durable request per sensor at once; how long the slowest took, in ms. */
    const round = async () => {
      const start = sent
      sent += batch
      const began = performance.now()
      await Promise.all(sensors.map((s) => ingest(node, s, Array.from({ length: batch }, (_, i) => start + i), t0 + start)))
      return performance.now() - began
    }
    const rounds = async (n: number) => {
      const took: Array<number> = []
      for (let i = 0; i < n; i++) took.push(await round())
      return took
    }
    await rounds(2)
    const alone = await rounds(12)

    const { socket: stalled } = await subscribe(node, ["slow/*"])
    stalled.ws.pause()
    // Feed it until the node has stopped writing to its socket and its buffer overflows...
    const before = await counterValue(node.url, DROPPED)
    for (let i = 0; i < 200 && (await counterValue(node.url, DROPPED)) === before; i++) await round()
    expect(await metricValue(node.url, DROPPED)).toBeGreaterThan(before)
    // ...then ingest at the same pace as before it connected.
    const beside = await rounds(12)
    expect(median(beside)).toBeLessThan(3 * median(alone) + 100)

    for (const s of sensors) expect(await waitForValues(healthy, s, sent, 30_000)).toEqual(Array.from({ length: sent }, (_, i) => i))
    stalled.ws.resume()
    const lagged = await stalled.next((f) => f.type === "lagged", 15_000)
    expect(Number(lagged.dropped)).toBeGreaterThan(0)
    await Promise.all([stalled.close(), healthy.close()])
  })
})
