/**
 * The single-node pipeline as a device and an operator see it, run against one database flavour
 * (the machine's PostgreSQL or the embedded one): HTTP in, PostgreSQL rows out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { counterValue, metricValue } from "../support/metrics.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

export interface Flavour {
  readonly name: string
  /** Environment for a node on a fresh database; the same env twice means the same database. */
  readonly env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>
}

interface IngestBody {
  accepted: number
  durable: boolean
  suspect: Array<{ index: number; sensor: string; reasons: Array<string> }>
  rejected: Array<{ index: number; sensor: string; reason: string }>
}

const asIngest = (u: unknown): IngestBody => u as IngestBody

export const nodeSuite = (flavour: Flavour) =>
  describe(`single node on ${flavour.name}`, () => {
    let node: RunningNode
    let env: Record<string, string>
    let cleanup: () => Promise<void>
    const run = Date.now().toString(36)
    const id = (name: string) => `${flavour.name}-${run}/${name}`

    beforeAll(async () => {
      ;({ env, cleanup } = await flavour.env())
      node = await startNode(env)
    })
    afterAll(async () => {
      await node?.stop()
      await cleanup?.()
    })

    const ingest = (body: unknown, query = "") => postJson(`${node.url}/api/v1/readings${query}`, body)

    it("persists exactly the readings it acknowledged as durable, across many sensors", async () => {
      const sensors = Array.from({ length: 200 }, (_, i) => id(`bulk-${i}`))
      const t0 = Date.now() - 60_000
      // Concurrent requests may arrive in any order, so each sensor's readings travel in one request.
      const requests = Array.from({ length: 40 }, (_, r) => ({
        readings: Array.from({ length: 100 }, (_, j) => ({
          sensor: sensors[r * 5 + (j % 5)]!,
          ts: t0 + Math.floor(j / 5) * 1000,
          value: Math.sin(r * 100 + j)
        }))
      }))
      const answers = await Promise.all(requests.map((body) => ingest(body)))
      let acknowledged = 0
      for (const a of answers) {
        expect(a.status).toBe(202)
        const body = asIngest(a.body)
        expect(body.durable).toBe(true)
        expect(body.rejected).toEqual([])
        acknowledged += body.accepted
      }
      expect(acknowledged).toBe(4000)
      const rows = await node.sql<{ n: string }>(
        "select count(*) as n from readings r join sensors s on s.key = r.sensor_key where starts_with(s.id, $1)",
        [id("bulk-")]
      )
      expect(Number(rows[0]?.n)).toBe(acknowledged)
    })

    it("tells the device what happened to every reading that was not simply good", async () => {
      const s = id("classified")
      const put = await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ softMax: 50, hardMax: 100 })
      })
      expect(put.status).toBe(200)
      const t = Date.now() - 10_000
      const answer = await ingest({
        readings: [
          { sensor: s, ts: t, value: 10 },
          { sensor: s, ts: t + 1, value: 60 },
          { sensor: s, ts: t + 2, value: 150 },
          { sensor: s, ts: t + 1, value: 11 },
          { sensor: s, ts: t - 5, value: 12 }
        ]
      })
      expect(answer.status).toBe(202)
      expect(answer.body).toEqual({
        accepted: 2,
        durable: true,
        suspect: [{ index: 1, sensor: s, reasons: ["out_of_range"] }],
        rejected: [
          { index: 2, sensor: s, reason: "invalid" },
          { index: 3, sensor: s, reason: "duplicate" },
          { index: 4, sensor: s, reason: "out_of_order" }
        ]
      })
      const history = await getJson(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}/readings`)
      expect(history.body).toEqual({
        sensor: s,
        readings: [
          { ts: t + 1, value: 60, quality: "suspect", reasons: ["out_of_range"] },
          { ts: t, value: 10, quality: "good", reasons: [] }
        ],
        next: null
      })
    })

    it("takes nothing of a request it answers 422: its valid readings are not stored, its sensors not created", async () => {
      const [a, b] = [id("all-or-nothing-a"), id("all-or-nothing-b")]
      const t = Date.now() - 20_000
      const readings = [
        { sensor: a, ts: t, value: 1 },
        { sensor: b, ts: t, value: 2 },
        { sensor: a, ts: t + 1, value: "x" }
      ]
      const refused = await ingest({ readings })
      expect(refused.status).toBe(422)
      expect(refused.body).toMatchObject({ error: "validation_failed", message: expect.stringMatching(/^readings\[2\]\.value: /) })
      for (const s of [a, b]) expect((await getJson(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}`)).status).toBe(404)
      const rows = await node.sql<{ n: string }>(
        "select count(*) as n from readings r join sensors s on s.key = r.sensor_key where s.id = any($1)",
        [[a, b]]
      )
      expect(Number(rows[0]?.n)).toBe(0)
      // Sent again without the bad reading, they are new to their sensors (not duplicates).
      const again = await ingest({ readings: readings.slice(0, 2) })
      expect(again.status).toBe(202)
      expect(again.body).toMatchObject({ accepted: 2, rejected: [] })
    })

    it("decides concurrent first requests for a new sensor against one state", async () => {
      const s = id("first-contact")
      const t = Date.now() - 5_000
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => ingest({ readings: [{ sensor: s, ts: t, value: 1 }] }))
      )
      const bodies = answers.map((a) => asIngest(a.body))
      expect(bodies.reduce((n, b) => n + b.accepted, 0)).toBe(1)
      expect(bodies.flatMap((b) => b.rejected.map((r) => r.reason))).toEqual(Array(5).fill("duplicate"))
    })

    it("rejects excess readings as throttled, never silently", async () => {
      const s = id("throttled")
      await fetch(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ throttleRate: 1, throttleBurst: 5 })
      })
      const t = Date.now() - 100_000
      const throttledTotal = 'flowmesh_readings_total{transport="http",outcome="throttled"}'
      const before = await counterValue(node.url, throttledTotal)
      const answer = await ingest(
        { readings: Array.from({ length: 8 }, (_, i) => ({ sensor: s, ts: t + i, value: i })) },
        "?ack=accepted"
      )
      const body = asIngest(answer.body)
      expect(body.accepted).toBe(5)
      expect(body.rejected.map((r) => [r.index, r.reason])).toEqual([
        [5, "throttled"],
        [6, "throttled"],
        [7, "throttled"]
      ])
      expect((await metricValue(node.url, throttledTotal)) - before).toBe(3)
    })

    it("pages history newest first, bounded by limit", async () => {
      const s = id("history")
      // Within raw retention: an older reading is answered too_old and never stored.
      const t = Math.floor(Date.now() / 1000) * 1000 - 3_600_000
      await ingest({ readings: Array.from({ length: 25 }, (_, i) => ({ sensor: s, ts: t + i * 1000, value: i })) })
      const first = await getJson(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}/readings?limit=10`)
      const page1 = first.body as { readings: Array<{ ts: number; value: number }>; next: string }
      expect(page1.readings.map((r) => r.value)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15])
      const second = await getJson(`${node.url}${page1.next}`)
      const page2 = second.body as { readings: Array<{ value: number }>; next: string | null }
      expect(page2.readings.map((r) => r.value)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5])
      const ranged = await getJson(
        `${node.url}/api/v1/sensors/${encodeURIComponent(s)}/readings?from=${t + 3000}&to=${t + 6000}`
      )
      expect((ranged.body as { readings: Array<{ value: number }> }).readings.map((r) => r.value)).toEqual([5, 4, 3])
    })

    it("restores a sensor's state after a restart: counters, status and the out-of-order check continue", async () => {
      const s = id("restart")
      const t = Date.now() - 30_000
      await ingest({ readings: Array.from({ length: 5 }, (_, i) => ({ sensor: s, ts: t + i * 1000, value: i })) })
      await node.stop()
      node = await startNode(env)
      // Resends of stored readings are duplicates; an older reading that was never taken is out of order.
      const late = await ingest({
        readings: [
          { sensor: s, ts: t + 4000, value: 9 },
          { sensor: s, ts: t + 2000, value: 9 },
          { sensor: s, ts: t + 2500, value: 9 },
          { sensor: s, ts: t + 9000, value: 9 }
        ]
      })
      expect(asIngest(late.body).rejected).toEqual([
        { index: 0, sensor: s, reason: "duplicate" },
        { index: 1, sensor: s, reason: "duplicate" },
        { index: 2, sensor: s, reason: "out_of_order" }
      ])
      const view = await getJson(`${node.url}/api/v1/sensors/${encodeURIComponent(s)}`)
      const state = (view.body as { state: { status: string; lastTs: number; counters: { accepted: number; rejected: Record<string, number> } } })
        .state
      expect(state.status).toBe("online")
      expect(state.lastTs).toBe(t + 9000)
      expect(state.counters.accepted).toBe(6)
      expect(state.counters.rejected).toMatchObject({ duplicate: 2, out_of_order: 1 })
    })
  })
