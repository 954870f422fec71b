/**
 * Aggregate queries and exports against seeded tiers (issue 17's targets), on one node over the
 * machine's PostgreSQL, its heap capped so that an export's memory bound is part of the row:
 * - 10,000 sensors in `rollup_1h`: a year of hours for the 1,000 under `agg-a/`, a week for the
 *   9,000 under `agg-b/` (10.3 M rows, inserted hour by hour across sensors as the job writes them);
 *   a UTC day of 1 min buckets for the 1,000 under `agg-a/` (1.44 M rows); vacuumed and analyzed.
 * - a year of one sensor's hourly buckets in one page (8,760), a random sensor each time, one
 *   request in flight: the time in SQL alone (the node's own statement) and over HTTP;
 * - a page of 10,000 1 min buckets by prefix from a random sensor on, and the whole day of the
 *   1,000 sensors streamed as NDJSON;
 * - a raw export of BENCH_EXPORT_ROWS rows (10 M by default) of one sensor as CSV, every line
 *   counted, the node's heap and RSS sampled from /metrics meanwhile.
 * BENCH_AGGREGATES=0 skips it.
 */
import { Pool } from "undici"
import { planAggregates } from "../src/domain/aggregate-plan.js"
import { aggregateSql } from "../src/storage/aggregate-repo.js"
import { partitionsCovering } from "../src/storage/partition-plan.js"
import { SETTINGS } from "./settings.js"
import { type LatencySummary, summarize } from "./tally.js"
import { type NodeTarget, startTarget, withClient } from "./targets.js"
import type pg from "pg"

export interface AggregatesRow {
  readonly heapLimitMb: number
  readonly seedSeconds: number
  readonly hourRows: number
  readonly minuteRows: number
  readonly yearOfHours: { readonly buckets: number; readonly bytes: number; readonly sql: LatencySummary; readonly http: LatencySummary }
  readonly prefixPage: { readonly buckets: number; readonly http: LatencySummary }
  readonly prefixDay: { readonly buckets: number; readonly bytes: number; readonly seconds: number }
  readonly rawExport: {
    readonly rows: number
    readonly lines: number
    readonly bytes: number
    readonly seconds: number
    readonly peakHeapMb: number
    readonly peakRssMb: number
    readonly idleRssMb: number
  }
}

const A = SETTINGS.aggregates
const HOUR = 3_600_000
const DAY = 86_400_000

const sensorId = (group: "a" | "b", i: number) => `agg-${group}/${String(i).padStart(4, "0")}`
const pick = (n: number) => Math.floor(Math.random() * n)

const ensurePartitions = async (c: pg.Client, table: string, span: "day" | "month", from: number, to: number) => {
  for (const p of partitionsCovering(table, span, from, to)) {
    await c.query("select flowmesh_ensure_range_partition($1, $2, $3, $4)", [table, p.name, new Date(p.lo).toISOString(), new Date(p.hi).toISOString()])
  }
}

/** One bucket row per sensor under `prefix` and each bucket start in `starts`, in that order (time-major). */
const insertBuckets = (c: pg.Client, table: string, widthS: number, prefix: string, starts: Array<number>) =>
  c.query(
    `insert into ${table} (sensor_key, bucket, n, lo, hi, total, first_ts, first_value, last_ts, last_value, suspect, spike, rate_of_change, stuck, out_of_range)
     select s.key, b.at, $3::int, v - 5, v + 5, v * $3::int, b.at, v - 1, b.at + make_interval(secs => $3::int - 1), v + 1,
            (b.i % 97 = 0)::int, (b.i % 97 = 0)::int, 0, 0, 0
     from unnest($1::timestamptz[]) with ordinality b(at, i)
     cross join sensors s
     cross join lateral (select 50 + 10 * sin(b.i / 24.0) + s.key % 7 as v) x
     where starts_with(s.id, $2)
     order by b.i, s.key`,
    [starts.map((t) => new Date(t).toISOString()), prefix, widthS]
  )

export const seed = async (target: NodeTarget, lastHour: number, day: number, exportFrom: number): Promise<{ hourRows: number; minuteRows: number }> =>
  withClient(target.dbUrl, async (c) => {
    await c.query(
      `insert into sensors (id)
       select 'agg-a/' || lpad(i::text, 4, '0') from generate_series(0, 999) i
       union all select 'agg-b/' || lpad(i::text, 4, '0') from generate_series(0, 8999) i
       union all select 'agg-export'`
    )
    const firstHour = lastHour - 8_759 * HOUR
    await ensurePartitions(c, "rollup_1h", "month", firstHour, lastHour)
    await ensurePartitions(c, "rollup_1m", "day", day, day + DAY - 1)
    let hourRows = 0
    for (let lo = firstHour; lo <= lastHour; lo += 720 * HOUR) {
      const starts = Array.from({ length: Math.min(720, (lastHour - lo) / HOUR + 1) }, (_, i) => lo + i * HOUR)
      hourRows += (await insertBuckets(c, "rollup_1h", 3_600, "agg-a/", starts)).rowCount ?? 0
    }
    const week = Array.from({ length: 168 }, (_, i) => lastHour - (167 - i) * HOUR)
    hourRows += (await insertBuckets(c, "rollup_1h", 3_600, "agg-b/", week)).rowCount ?? 0
    let minuteRows = 0
    for (let h = 0; h < 24; h++) {
      const starts = Array.from({ length: 60 }, (_, i) => day + h * HOUR + i * 60_000)
      minuteRows += (await insertBuckets(c, "rollup_1m", 60, "agg-a/", starts)).rowCount ?? 0
    }
    // Raw rows of one sensor, evenly spaced from exportFrom to a minute ago.
    const step = (Date.now() - 60_000 - exportFrom) / A.exportRows
    for (let lo = 0; lo < A.exportRows; lo += 1_000_000) {
      await c.query(
        `insert into readings (sensor_key, ts, value, quality)
         select (select key from sensors where id = 'agg-export'), to_timestamp(($2::float8 + g * $3::float8) / 1000.0), 50 + 10 * sin(g / 600.0), 0
         from generate_series($1::bigint, $4::bigint) g`,
        [lo, exportFrom, step, Math.min(A.exportRows, lo + 1_000_000) - 1]
      )
    }
    // As the steady state has them: autovacuum marks these insert-mostly tables all-visible.
    await c.query("vacuum (analyze) rollup_1h, rollup_1m, readings")
    await c.query("checkpoint")
    return { hourRows, minuteRows }
  })

/** Sequential GETs of `paths()`, one in flight: latency and the last body's size. */
const timeGets = async (pool: Pool, paths: () => string, n: number, count: (body: unknown) => number) => {
  const samples: Array<number> = []
  let buckets = 0
  let bytes = 0
  for (let i = 0; i < A.warmup + n; i++) {
    const started = performance.now()
    const res = await pool.request({ path: paths(), method: "GET" })
    const text = await res.body.text()
    const took = performance.now() - started
    if (res.statusCode !== 200) throw new Error(`aggregate query answered ${res.statusCode}: ${text.slice(0, 300)}`)
    if (i >= A.warmup) samples.push(took)
    buckets = count(JSON.parse(text))
    bytes = text.length
  }
  return { samples, buckets, bytes }
}

/** Streams a GET to its end, counting bytes and lines, without keeping it. */
const drain = async (pool: Pool, path: string, accept: string) => {
  const started = performance.now()
  const res = await pool.request({ path, method: "GET", headers: { accept } })
  if (res.statusCode !== 200) throw new Error(`export answered ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`)
  let bytes = 0
  let lines = 0
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++
  }
  return { bytes, lines, seconds: (performance.now() - started) / 1000 }
}

const gauge = (metrics: string, name: string): number => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(metrics)
  return m === null ? Number.NaN : Number(m[1])
}

export const runAggregatesPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<AggregatesRow> => {
  const target = await startTarget("external", { NODE_OPTIONS: `--max-old-space-size=${A.heapLimitMb}` })
  track(target)
  const pool = new Pool(target.origin, { connections: 2, pipelining: 1, headersTimeout: 120_000, bodyTimeout: 120_000 })
  try {
    const now = Date.now()
    const lastHour = Math.floor(now / HOUR) * HOUR - HOUR
    const day = Math.floor(now / DAY) * DAY - DAY
    const exportFrom = Math.floor(now / DAY) * DAY - 6 * DAY
    const t0 = performance.now()
    const { hourRows, minuteRows } = await seed(target, lastHour, day, exportFrom)
    const seedSeconds = (performance.now() - t0) / 1000
    log(`  seeded ${hourRows.toLocaleString("en-US")} hourly and ${minuteRows.toLocaleString("en-US")} 1 min buckets, ${A.exportRows.toLocaleString("en-US")} raw rows in ${seedSeconds.toFixed(0)} s`)

    const from = lastHour - 8_759 * HOUR
    const to = lastHour + HOUR
    const planned = planAggregates({ interval: "1h", tz: "UTC", from, to }, { minuteDays: 30, hourDays: 400, dayDays: 3650 }, now)
    if (!("plan" in planned)) throw new Error(`no plan: ${planned.message}`)
    const statement = aggregateSql(planned.plan, "ids")
    const sqlSamples: Array<number> = []
    await withClient(target.dbUrl, async (c) => {
      for (let i = 0; i < A.warmup + A.queries; i++) {
        const started = performance.now()
        await c.query(statement, ["UTC", from, to, 10_000, "", -1, `{${JSON.stringify(sensorId("a", pick(1_000)))}}`])
        if (i >= A.warmup) sqlSamples.push(performance.now() - started)
      }
    })
    const year = await timeGets(
      pool,
      () => `/api/v1/sensors/${encodeURIComponent(sensorId("a", pick(1_000)))}/aggregates?interval=1h&from=${from}&to=${to}&limit=10000`,
      A.queries,
      (b) => (b as { buckets: Array<unknown> }).buckets.length
    )
    const yearOfHours = { buckets: year.buckets, bytes: year.bytes, sql: summarize(sqlSamples), http: summarize(year.samples) }
    log(
      `  a year of one sensor's hours (${year.buckets.toLocaleString("en-US")} buckets, ${(year.bytes / 1e6).toFixed(1)} MB): ` +
        `SQL p50 ${yearOfHours.sql.p50.toFixed(1)} / p99 ${yearOfHours.sql.p99.toFixed(1)} ms; HTTP p50 ${yearOfHours.http.p50.toFixed(1)} / p99 ${yearOfHours.http.p99.toFixed(1)} / max ${yearOfHours.http.max.toFixed(1)} ms`
    )

    const page = await timeGets(
      pool,
      () => `/api/v1/aggregates?prefix=agg-a/&interval=1m&from=${day}&to=${day + DAY}&limit=10000&after=${encodeURIComponent(`${sensorId("a", pick(990))}@${day}`)}`,
      A.queries,
      (b) => (b as { series: Array<{ buckets: Array<unknown> }> }).series.reduce((s, x) => s + x.buckets.length, 0)
    )
    const prefixPage = { buckets: page.buckets, http: summarize(page.samples) }
    log(`  a page of ${page.buckets.toLocaleString("en-US")} 1 min buckets by prefix: p50 ${prefixPage.http.p50.toFixed(1)} / p99 ${prefixPage.http.p99.toFixed(1)} ms`)

    const whole = await drain(pool, `/api/v1/aggregates?prefix=agg-a/&interval=1m&from=${day}&to=${day + DAY}`, "application/x-ndjson")
    const prefixDay = { buckets: whole.lines, bytes: whole.bytes, seconds: whole.seconds }
    log(`  the day of 1,000 sensors as NDJSON: ${whole.lines.toLocaleString("en-US")} buckets, ${(whole.bytes / 1e6).toFixed(0)} MB in ${whole.seconds.toFixed(1)} s`)

    const metrics = async () => (await (await pool.request({ path: "/metrics", method: "GET" })).body.text())
    const idle = await metrics()
    let peakHeap = 0
    let peakRss = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const m = await metrics()
        peakHeap = Math.max(peakHeap, gauge(m, "flowmesh_nodejs_heap_size_used_bytes"))
        peakRss = Math.max(peakRss, gauge(m, "flowmesh_process_resident_memory_bytes"))
        await new Promise((r) => setTimeout(r, 200))
      }
    })()
    const raw = await drain(pool, `/api/v1/sensors/agg-export/readings?from=${exportFrom}&format=csv`, "text/csv").finally(() => {
      sampling = false
    })
    await sampler
    const rawExport = {
      rows: A.exportRows,
      lines: raw.lines - 1,
      bytes: raw.bytes,
      seconds: raw.seconds,
      peakHeapMb: peakHeap / 2 ** 20,
      peakRssMb: peakRss / 2 ** 20,
      idleRssMb: gauge(idle, "flowmesh_process_resident_memory_bytes") / 2 ** 20
    }
    log(
      `  raw export: ${rawExport.lines.toLocaleString("en-US")} rows (${(raw.bytes / 1e6).toFixed(0)} MB CSV) in ${raw.seconds.toFixed(1)} s; ` +
        `node heap cap ${A.heapLimitMb} MB, peak heap used ${rawExport.peakHeapMb.toFixed(0)} MB, RSS ${rawExport.idleRssMb.toFixed(0)} MB idle -> ${rawExport.peakRssMb.toFixed(0)} MB peak`
    )
    return { heapLimitMb: A.heapLimitMb, seedSeconds, hourRows, minuteRows, yearOfHours, prefixPage, prefixDay, rawExport }
  } finally {
    await pool.close()
    track(null)
    await target.stop()
  }
}

const ms = (x: number) => x.toFixed(1)

export const aggregateGoals = (row: AggregatesRow | null) =>
  row === null
    ? []
    : [
        {
          goal: "a year of one sensor's hourly buckets over HTTP, 10,000 sensors' data present",
          target: `p99 <= ${SETTINGS.goals.yearOfHoursP99Ms} ms`,
          measured: `p99 ${ms(row.yearOfHours.http.p99)} ms`,
          pass: row.yearOfHours.http.p99 <= SETTINGS.goals.yearOfHoursP99Ms
        },
        {
          goal: "a page of 10,000 1 min buckets by prefix over 1,000 sensors",
          target: `p99 <= ${SETTINGS.goals.prefixDayMs} ms`,
          measured: `p99 ${ms(row.prefixPage.http.p99)} ms`,
          pass: row.prefixPage.http.p99 <= SETTINGS.goals.prefixDayMs
        },
        {
          goal: `raw CSV export of ${row.rawExport.rows.toLocaleString("en-US")} rows, node heap capped at ${row.heapLimitMb} MB`,
          target: "every row, heap under the cap",
          measured: `${row.rawExport.lines.toLocaleString("en-US")} rows, peak heap ${row.rawExport.peakHeapMb.toFixed(0)} MB`,
          pass: row.rawExport.lines === row.rawExport.rows && row.rawExport.peakHeapMb < row.heapLimitMb
        }
      ]

export const aggregateTable = (row: AggregatesRow): { readonly headers: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => ({
  headers: ["query (one in flight)", "data present", "answer", "SQL p50 / p99 ms", "HTTP p50 / p99 / max ms"],
  rows: [
    [
      "a year of one sensor's 1 h buckets",
      `${row.hourRows.toLocaleString("en-US")} rows in rollup_1h, 10,000 sensors`,
      `${row.yearOfHours.buckets.toLocaleString("en-US")} buckets, ${(row.yearOfHours.bytes / 1e6).toFixed(1)} MB`,
      `${ms(row.yearOfHours.sql.p50)} / ${ms(row.yearOfHours.sql.p99)}`,
      `${ms(row.yearOfHours.http.p50)} / ${ms(row.yearOfHours.http.p99)} / ${ms(row.yearOfHours.http.max)}`
    ],
    [
      "a page of 1 min buckets by prefix",
      `${row.minuteRows.toLocaleString("en-US")} rows in rollup_1m, 1,000 sensors`,
      `${row.prefixPage.buckets.toLocaleString("en-US")} buckets`,
      "-",
      `${ms(row.prefixPage.http.p50)} / ${ms(row.prefixPage.http.p99)} / ${ms(row.prefixPage.http.max)}`
    ],
    [
      "the whole day of 1,000 sensors, NDJSON",
      "same",
      `${row.prefixDay.buckets.toLocaleString("en-US")} buckets, ${(row.prefixDay.bytes / 1e6).toFixed(0)} MB`,
      "-",
      `${row.prefixDay.seconds.toFixed(1)} s`
    ],
    [
      "raw export of one sensor, CSV",
      `${row.rawExport.rows.toLocaleString("en-US")} rows`,
      `${row.rawExport.lines.toLocaleString("en-US")} rows, ${(row.rawExport.bytes / 1e6).toFixed(0)} MB`,
      "-",
      `${row.rawExport.seconds.toFixed(1)} s; heap cap ${row.heapLimitMb} MB, peak heap ${row.rawExport.peakHeapMb.toFixed(0)} MB, RSS ${row.rawExport.idleRssMb.toFixed(0)} -> ${row.rawExport.peakRssMb.toFixed(0)} MB`
    ]
  ]
})
