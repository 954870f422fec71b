/**
 * Idle sensors passivate (memory follows active sensors) and come back with their state; the
 * OpenAPI document is kept as a snapshot so any contract change shows up in review.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

const activeSensors = async (url: string) => {
  const metrics = await getJson(`${url}/metrics`)
  const m = /^flowmesh_active_sensors (\d+)/m.exec(metrics.text)
  return Number(m?.[1] ?? Number.NaN)
}

describe("passivation and contract", () => {
  let node: RunningNode
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("passivate")
    node = await startNode({ DATABASE_URL: db.url, ENTITY_MAX_IDLE_MS: "1000" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("passivates idle sensors and restores them from their snapshot on the next message", async () => {
    const t = Date.now() - 60_000
    const readings = Array.from({ length: 30 }, (_, i) => ({ sensor: `idle-${i % 10}`, ts: t + Math.floor(i / 10) * 1000, value: i }))
    expect((await postJson(`${node.url}/api/v1/readings`, { readings })).status).toBe(202)
    expect(await activeSensors(node.url)).toBe(10)
    const deadline = Date.now() + 15_000
    while ((await activeSensors(node.url)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    expect(await activeSensors(node.url)).toBe(0)
    const again = await postJson(`${node.url}/api/v1/readings`, {
      readings: [
        { sensor: "idle-3", ts: t + 1000, value: 1 },
        { sensor: "idle-3", ts: t + 500, value: 1 },
        { sensor: "idle-3", ts: t + 5000, value: 1 }
      ]
    })
    // The restored window knows t + 1000 (a resend: duplicate) and the last ts (t + 500 is older: out of order).
    expect(again.body).toMatchObject({
      accepted: 1,
      rejected: [
        { index: 0, sensor: "idle-3", reason: "duplicate" },
        { index: 1, sensor: "idle-3", reason: "out_of_order" }
      ]
    })
    const view = await getJson(`${node.url}/api/v1/sensors/idle-3`)
    expect(view.body).toMatchObject({ state: { status: "online", lastTs: t + 5000, counters: { accepted: 4 } } })
  })

  it("serves the OpenAPI document, unchanged unless the contract changed", async () => {
    const doc = await getJson(`${node.url}/openapi.json`)
    expect(doc.status).toBe(200)
    await expect(JSON.stringify(doc.body, null, 2)).toMatchFileSnapshot("__snapshots__/openapi.json")
    const docs = await fetch(`${node.url}/docs`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain("swagger")
  })
})

describe("a bound on sensors in memory (MAX_RESIDENT_SENSORS)", () => {
  let node: RunningNode
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase("resident_cap")
    // Idle sensors would stay for ten minutes: only the bound makes them leave.
    node = await startNode({ DATABASE_URL: db.url, ENTITY_MAX_IDLE_MS: "600000", MAX_RESIDENT_SENSORS: "1000" })
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  it("evicts the idle sensors past the bound, and an evicted sensor comes back with its state", async () => {
    const t = Date.now() - 60_000
    for (let batch = 0; batch < 30; batch++) {
      const readings = Array.from({ length: 100 }, (_, i) => ({ sensor: `cap-${batch * 100 + i}`, ts: t, value: i }))
      expect((await postJson(`${node.url}/api/v1/readings`, { readings })).status).toBe(202)
    }
    expect(await activeSensors(node.url)).toBe(3000)
    const deadline = Date.now() + 20_000
    while ((await activeSensors(node.url)) > 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250))
    expect(await activeSensors(node.url)).toBeLessThanOrEqual(1000)
    // cap-0 was among the first: evicted, then restored from its snapshot on the next batch.
    const again = await postJson(`${node.url}/api/v1/readings`, { readings: [{ sensor: "cap-0", ts: t, value: 0 }, { sensor: "cap-0", ts: t + 1, value: 1 }] })
    expect(again.body).toMatchObject({ accepted: 1, rejected: [{ index: 0, sensor: "cap-0", reason: "duplicate" }] })
  })
})
