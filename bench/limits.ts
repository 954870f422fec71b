/**
 * The two ceilings the node is measured against:
 * - bare insert: the node's own INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING (without
 *   its sensor_state CTE), 2,000-row batches, 1 and 2 connections, into the node's real partitioned
 *   `readings` table (migrated by the node) with keys far above any sensor key, in the partition of a
 *   later day so the node's own partition for today starts empty;
 * - bare HTTP: a plain node:http server (bench/bare-http-server.ts) driven by the same closed loop
 *   with the same bodies.
 */
import * as os from "node:os"
import pg from "pg"
import { isAborted } from "./abort.js"
import { BodyPool } from "./bodies.js"
import { freePort, spawnChild, waitForOk } from "./child.js"
import { type MeasuredPhase, withCpu } from "./cpu.js"
import { closedLoop, readingsPerSec } from "./load-driver.js"
import { SETTINGS } from "./settings.js"
import { childEnv, queryOne, ROOT } from "./targets.js"

export const BARE_INSERT_SQL = `
insert into readings (sensor_key, ts, value, quality)
select u.k, to_timestamp(u.t / 1000.0), u.v, u.q
from unnest($1::int4[], $2::float8[], $3::float8[], $4::int2[]) as u(k, t, v, q)
on conflict do nothing`

export interface BareInsertRun {
  readonly connections: number
  readonly batches: number
  readonly rowsInserted: number
  readonly elapsedMs: number
  readonly rowsPerSec: number
}

export interface BareInsertResult {
  readonly partition: string
  readonly runs: ReadonlyArray<BareInsertRun>
  readonly bestRowsPerSec: number
}

const DAY_MS = 86_400_000

/** One connection's batches: 200 sensors x 10 readings each (the shape of a node flush), in turn over 10,000 keys. */
const insertLoop = async (url: string, firstKey: number, base: number, deadline: number): Promise<{ batches: number; rows: number }> => {
  const { batchRows } = SETTINGS.bareInsert
  const perSensor = SETTINGS.body.readingsPerSensor
  const sensorsPerBatch = batchRows / perSensor
  const groups = SETTINGS.body.sensors / sensorsPerBatch
  const keyText: Array<string> = []
  for (let g = 0; g < groups; g++) {
    const keys: Array<number> = []
    for (let s = 0; s < sensorsPerBatch; s++) for (let r = 0; r < perSensor; r++) keys.push(firstKey + g * sensorsPerBatch + s)
    keyText.push(`{${keys.join(",")}}`)
  }
  const values: Array<number> = []
  for (let i = 0; i < batchRows; i++) values.push(Math.round((20 + 5 * Math.sin(i * 0.3)) * 100) / 100)
  const valueText = `{${values.join(",")}}`
  const qualityText = `{${new Array<string>(batchRows).fill("0").join(",")}}`
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await client.connect()
  let batches = 0
  let rows = 0
  try {
    while (Date.now() < deadline && batches < 100_000 && !isAborted()) {
      const round = Math.floor(batches / groups)
      const oneSensor: Array<number> = []
      for (let r = 0; r < perSensor; r++) oneSensor.push(base + round * perSensor * 100 + r * 100)
      const tsText = `{${new Array<string>(sensorsPerBatch).fill(oneSensor.join(",")).join(",")}}`
      const res = await client.query(BARE_INSERT_SQL, [keyText[batches % groups]!, tsText, valueText, qualityText])
      rows += res.rowCount ?? 0
      batches++
    }
  } finally {
    await client.end()
  }
  return { batches, rows }
}

export const bareInsertLimit = async (dbUrl: string): Promise<BareInsertResult> => {
  const { connections, durationMs, keyBase, dayOffset } = SETTINGS.bareInsert
  const day = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + dayOffset * DAY_MS)
  const partition = `readings_${day.toISOString().slice(0, 10).replaceAll("-", "")}`
  const found = await queryOne(dbUrl, "select to_regclass($1) is not null as ok", [partition])
  if (found.ok !== true) throw new Error(`partition ${partition} does not exist; did the node create partitions ahead?`)
  const base = day.getTime() + 3_600_000
  const runs: Array<BareInsertRun> = []
  for (let run = 0; run < connections.length; run++) {
    const n = connections[run]!
    const t0 = performance.now()
    const deadline = Date.now() + durationMs
    const results = await Promise.all(
      Array.from({ length: n }, (_, c) => insertLoop(dbUrl, keyBase * (1 + run) + c * 100_000, base, deadline))
    )
    const elapsedMs = performance.now() - t0
    const rowsInserted = results.reduce((s, r) => s + r.rows, 0)
    runs.push({
      connections: n,
      batches: results.reduce((s, r) => s + r.batches, 0),
      rowsInserted,
      elapsedMs,
      rowsPerSec: (rowsInserted * 1000) / elapsedMs
    })
  }
  return { partition, runs, bestRowsPerSec: Math.max(...runs.map((r) => r.rowsPerSec)) }
}

export interface BareHttpResult {
  readonly runs: ReadonlyArray<MeasuredPhase>
  readonly bestReadingsPerSec: number
}

export const bareHttpLimit = async (): Promise<BareHttpResult> => {
  const port = await freePort()
  const child = spawnChild("bare http server", ["--import", "tsx", "bench/bare-http-server.ts"], childEnv({ PORT: String(port) }), ROOT)
  const endpoint = { origin: `http://127.0.0.1:${port}`, path: "/api/v1/readings?ack=durable" }
  try {
    await waitForOk(`${endpoint.origin}/`, child, 30_000)
    const bodies = new BodyPool(SETTINGS.body)
    const runs: Array<MeasuredPhase> = []
    const cores = os.cpus().length
    const { warmupMs, durationMs } = SETTINGS.bareHttp
    for (const concurrency of SETTINGS.bareHttp.concurrencies) {
      const common = { endpoint, bodies, concurrency, maxMs: durationMs + 5_000 }
      await closedLoop({ ...common, label: `bare-http warm-up c=${concurrency}`, stop: (t) => t >= warmupMs })
      const m = await withCpu(child.pid, cores, () =>
        closedLoop({ ...common, label: `bare-http c=${concurrency}`, stop: (t) => t >= durationMs })
      )
      runs.push({ phase: m.result, cpu: m.cpu })
    }
    return { runs, bestReadingsPerSec: Math.max(...runs.map((r) => readingsPerSec(r.phase))) }
  } finally {
    await child.stop(10_000)
  }
}
