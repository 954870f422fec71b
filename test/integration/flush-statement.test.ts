/**
 * The writer's one statement on real PostgreSQL: a retried batch adds no duplicate rows, and an
 * older snapshot never overwrites a newer one (an entity briefly running twice around a rebalance,
 * effect issue 6508, must not roll a sensor's state back).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FLUSH_SQL, flushParams } from "../../src/storage/flush-statement.js"
import { makeBuffer } from "../../src/storage/write-buffer.js"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { type RunningNode, startNode } from "../support/node-harness.js"

describe("flush statement", () => {
  let node: RunningNode
  let db: TestDatabase
  let key: number

  beforeAll(async () => {
    db = await createTestDatabase("flush")
    node = await startNode({ DATABASE_URL: db.url })
    const rows = await node.sql<{ key: number }>("insert into sensors (id) values ('direct') returning key")
    key = rows[0]!.key
  })
  afterAll(async () => {
    await node?.stop()
    await db?.drop()
  })

  const flush = async (version: number, ts: ReadonlyArray<number>) => {
    const buffer = makeBuffer(Date.now())
    for (const t of ts) {
      buffer.keys.push(key)
      buffer.ts.push(t)
      buffer.values.push(t / 1000)
      buffer.quality.push(0)
    }
    buffer.dirty.set(key, { sensorKey: key, snapshot: () => ({ version, lastSeen: ts[ts.length - 1] ?? 0, state: { v: version } }) })
    buffer.seal()
    await node.sql(FLUSH_SQL, flushParams(buffer))
  }

  it("is idempotent for a retried batch and keeps the newest snapshot version", async () => {
    const t = Date.UTC(2026, 5, 1, 12)
    await flush(5, [t, t + 1, t + 2])
    await flush(5, [t, t + 1, t + 2])
    await flush(3, [t + 3])
    const count = await node.sql<{ n: string }>("select count(*) as n from readings where sensor_key = $1", [key])
    expect(Number(count[0]?.n)).toBe(4)
    const state = await node.sql<{ version: string; snapshot: { v: number } }>(
      "select version, snapshot from sensor_state where sensor_key = $1",
      [key]
    )
    expect(Number(state[0]?.version)).toBe(5)
    expect(state[0]?.snapshot).toEqual({ v: 5 })
    await flush(6, [t + 4])
    const newer = await node.sql<{ version: string }>("select version from sensor_state where sensor_key = $1", [key])
    expect(Number(newer[0]?.version)).toBe(6)
  })

  it("stores millisecond timestamps exactly, in the day's partition", async () => {
    const now = new Date()
    const t = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59, 999)
    const day = now.toISOString().slice(0, 10).replaceAll("-", "")
    await flush(7, [t])
    const rows = await node.sql<{ ts: number; part: string }>(
      "select (extract(epoch from ts) * 1000)::float8 as ts, tableoid::regclass::text as part from readings where sensor_key = $1 and ts = to_timestamp($2 / 1000.0)",
      [key, t]
    )
    expect(rows).toEqual([{ ts: t, part: `readings_${day}` }])
  })
})
