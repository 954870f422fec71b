/**
 * Rollups = recomputation, on real PostgreSQL: random flushes (late readings into closed buckets,
 * duplicates, retried flushes) interleaved with rollup runs of random size always end with every
 * 1 min, 1 h and 1 d bucket equal to a recomputation from the raw rows; a flush still in flight
 * while the job runs is not lost; and retention drops each tier by partition.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AppConfig } from "../../src/config.js"
import { DatabaseLive } from "../../src/storage/database.js"
import { FLUSH_SQL_WITH_MARKS, flushParams } from "../../src/storage/flush-statement.js"
import { maintainPartitions, partitionSettings } from "../../src/storage/partitions.js"
import { rollUpAll, rollUpOnce } from "../../src/storage/rollup-job.js"
import { makeBuffer } from "../../src/storage/write-buffer.js"
import { createTestDatabase, query, type TestDatabase } from "../support/databases.js"
import { loadConfig } from "../support/node-harness.js"

const DAY_MS = 86_400_000
const TIERS = [
  { table: "rollup_1m", width: 60 },
  { table: "rollup_1h", width: 3_600 },
  { table: "rollup_1d", width: 86_400 }
] as const

interface Row {
  readonly k: number
  readonly ts: number
  readonly value: number
  readonly quality: number
}

type Bucket = Record<string, number>

/** Every bucket of a tier recomputed straight from the raw rows. */
const expectedSql = (width: number) => `
  select sensor_key as k, (floor(extract(epoch from ts) / ${width}) * ${width})::float8 as b, count(*)::int4 as n,
    min(value) as lo, max(value) as hi, sum(value) as total,
    (extract(epoch from min(ts)) * 1e6)::float8 as first_us, (array_agg(value order by ts))[1] as first_value,
    (extract(epoch from max(ts)) * 1e6)::float8 as last_us, (array_agg(value order by ts desc))[1] as last_value,
    (count(*) filter (where quality <> 0))::int4 as suspect,
    (count(*) filter (where quality & 1 <> 0))::int4 as spike, (count(*) filter (where quality & 2 <> 0))::int4 as rate_of_change,
    (count(*) filter (where quality & 4 <> 0))::int4 as stuck, (count(*) filter (where quality & 8 <> 0))::int4 as out_of_range
  from readings group by 1, 2 order by 1, 2`

const storedSql = (table: string) => `
  select sensor_key as k, extract(epoch from bucket)::float8 as b, n, lo, hi, total,
    (extract(epoch from first_ts) * 1e6)::float8 as first_us, first_value,
    (extract(epoch from last_ts) * 1e6)::float8 as last_us, last_value,
    suspect, spike, rate_of_change, stuck, out_of_range
  from ${table} order by 1, 2`

const sameBuckets = (stored: ReadonlyArray<Bucket>, expected: ReadonlyArray<Bucket>) => {
  expect(stored.map((r) => `${r.k}@${r.b}`)).toEqual(expected.map((r) => `${r.k}@${r.b}`))
  for (let i = 0; i < expected.length; i++) {
    const { total, ...exact } = expected[i]!
    const { total: storedTotal, ...storedExact } = stored[i]!
    expect(storedExact).toEqual(exact)
    // Sums are added in another order per tier: equal up to float rounding.
    expect(Math.abs(storedTotal! - total!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(total!)))
  }
}

describe("rollups", () => {
  let db: TestDatabase
  let runtime: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient | AppConfig, never>
  let keys: Array<number>
  const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient | AppConfig>) => runtime.runPromise(effect)
  const sql = <R extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
    run(Effect.flatMap(SqlClient.SqlClient, (s) => s.unsafe<R>(text, params)))

  const flush = (rows: ReadonlyArray<Row>) => {
    const buffer = makeBuffer(Date.now())
    for (const r of rows) {
      buffer.keys.push(r.k)
      buffer.ts.push(r.ts)
      buffer.values.push(r.value)
      buffer.quality.push(r.quality)
    }
    buffer.seal()
    return sql(FLUSH_SQL_WITH_MARKS, flushParams(buffer))
  }

  beforeAll(async () => {
    db = await createTestDatabase("rollups")
    const config = await loadConfig({ DATABASE_URL: db.url })
    runtime = ManagedRuntime.make(DatabaseLive.pipe(Layer.provideMerge(Layer.succeed(AppConfig, config))).pipe(Layer.orDie))
    await run(maintainPartitions(partitionSettings(config), Date.now()))
    const rows = await sql<{ key: number }>("insert into sensors (id) values ('r-1'), ('r-2'), ('r-3') returning key")
    keys = rows.map((r) => r.key)
  })
  afterAll(async () => {
    await runtime?.dispose()
    await db?.drop()
  })

  const compareAllTiers = async () => {
    for (const { table, width } of TIERS) {
      sameBuckets(await sql<Bucket>(storedSql(table)), await sql<Bucket>(expectedSql(width)))
    }
  }

  it("equals a recomputation from raw readings, whatever the order of flushes, late readings, duplicates, retries and runs", async () => {
    // Around yesterday's UTC midnight, so that minutes, hours and days all have several buckets.
    const midnight = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS
    const row = fc.record({
      k: fc.constantFrom(0, 1, 2),
      minute: fc.integer({ min: -150, max: 90 }),
      ms: fc.oneof(fc.integer({ min: 0, max: 59_999 }), fc.constant(59_999.9996), fc.constant(0)),
      value: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
      quality: fc.integer({ min: 0, max: 15 })
    })
    const step = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("flush" as const), rows: fc.array(row, { minLength: 1, maxLength: 40 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("retry" as const), back: fc.nat(5) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("rollup" as const), marks: fc.integer({ min: 1, max: 3 }) }) }
    )
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        await sql("truncate readings, rollup_1m, rollup_1h, rollup_1d, rollup_marks")
        const flushed: Array<ReadonlyArray<Row>> = []
        for (const s of steps) {
          if (s.kind === "flush") {
            const rows = s.rows.map((r) => ({ k: keys[r.k]!, ts: midnight + r.minute * 60_000 + r.ms, value: r.value, quality: r.quality }))
            flushed.push(rows)
            await flush(rows)
          } else if (s.kind === "retry") {
            const again = flushed[flushed.length - 1 - (s.back % Math.max(1, flushed.length))]
            if (again !== undefined) await flush(again)
          } else {
            await run(rollUpOnce(s.marks))
          }
        }
        await run(rollUpAll(2))
        expect(await sql("select 1 from rollup_marks")).toEqual([])
        await compareAllTiers()
      }),
      { numRuns: 25 }
    )
  }, 120_000)

  it("leaves the mark of a flush still in flight for the next run, so its readings are rolled up once it commits", async () => {
    await sql("truncate readings, rollup_1m, rollup_1h, rollup_1d, rollup_marks")
    const at = Math.floor(Date.now() / 60_000) * 60_000 - 120_000
    await flush([{ k: keys[0]!, ts: at, value: 1, quality: 0 }])
    // A second flush into the same minute, committed only after the job's run has begun and ended.
    const buffer = makeBuffer(Date.now())
    buffer.keys.push(keys[0]!)
    buffer.ts.push(at + 1_000)
    buffer.values.push(41)
    buffer.quality.push(0)
    buffer.seal()
    const pg = await import("pg")
    const client = new pg.default.Client({ connectionString: db.url })
    await client.connect()
    try {
      await client.query("begin")
      await client.query(FLUSH_SQL_WITH_MARKS, [...flushParams(buffer)])
      const first = await run(rollUpOnce(10))
      expect(first).toMatchObject({ ran: true, marks: 1, minutes: 1 })
      expect(await sql("select n, total from rollup_1m")).toEqual([{ n: 1, total: 1 }])
      await client.query("commit")
    } finally {
      await client.end()
    }
    expect(await run(rollUpOnce(10))).toMatchObject({ ran: true, marks: 1, minutes: 1 })
    expect(await sql("select n, total from rollup_1m")).toEqual([{ n: 2, total: 42 }])
    await compareAllTiers()
  })

  it("drops each tier's partitions past its own retention, and only those", async () => {
    const now = Date.now()
    const partitions = async (table: string) =>
      (await query<{ name: string }>(db.url, `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = '${table}'`)).map(
        (r) => r.name
      )
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll("-", "")
    // Partitions as an older, longer-kept configuration left them.
    const old = now - 50 * DAY_MS
    const oldYear = new Date(now - 800 * DAY_MS).getUTCFullYear() - 1
    await sql(`select flowmesh_ensure_range_partition('rollup_1m', 'rollup_1m_${day(old)}', '${new Date(Math.floor(old / DAY_MS) * DAY_MS).toISOString()}', '${new Date(Math.floor(old / DAY_MS) * DAY_MS + DAY_MS).toISOString()}')`)
    await sql(`select flowmesh_ensure_range_partition('rollup_1h', 'rollup_1h_${oldYear}01', '${oldYear}-01-01Z', '${oldYear}-02-01Z')`)
    await sql(`select flowmesh_ensure_range_partition('rollup_1d', 'rollup_1d_${oldYear - 10}', '${oldYear - 10}-01-01Z', '${oldYear - 9}-01-01Z')`)
    await sql(`insert into rollup_1m (sensor_key, bucket, n, lo, hi, total, first_ts, first_value, last_ts, last_value, suspect, spike, rate_of_change, stuck, out_of_range)
      values (${keys[0]}, to_timestamp(${old / 1000}), 1, 1, 1, 1, to_timestamp(${old / 1000}), 1, to_timestamp(${old / 1000}), 1, 0, 0, 0, 0, 0)`)
    expect(await partitions("rollup_1m")).toContain(`rollup_1m_${day(old)}`)

    const config = await loadConfig({ DATABASE_URL: db.url, ROLLUP_1M_RETENTION_DAYS: "30", ROLLUP_1H_RETENTION_DAYS: "400", ROLLUP_1D_RETENTION_DAYS: "3650" })
    const dropped = await run(maintainPartitions(partitionSettings(config), now))
    expect(dropped.dropped).toBe(3)
    expect(await partitions("rollup_1m")).not.toContain(`rollup_1m_${day(old)}`)
    expect(await partitions("rollup_1h")).not.toContain(`rollup_1h_${oldYear}01`)
    expect(await partitions("rollup_1d")).not.toContain(`rollup_1d_${oldYear - 10}`)
    expect(await sql(`select 1 from rollup_1m where bucket < to_timestamp(${(now - 30 * DAY_MS) / 1000})`)).toEqual([])
    // What each tier still keeps: yesterday's minutes, this month's hours, this year's days.
    expect(await partitions("rollup_1m")).toContain(`rollup_1m_${day(now - DAY_MS)}`)
    expect(await partitions("rollup_1h")).toContain(`rollup_1h_${day(now).slice(0, 6)}`)
    expect(await partitions("rollup_1d")).toContain(`rollup_1d_${day(now).slice(0, 4)}`)
  })
})
