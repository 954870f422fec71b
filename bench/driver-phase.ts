/**
 * The bench rows that come from the load driver (`npm run load`): for HTTP ingest at 1, 10 and 100
 * readings per request, the knee (the highest open-model arrival rate whose p99 stays within the
 * goal with under 1 % errors: the number a deployment is sized with); and the p99 of history
 * queries over a table of many millions of rows. Each knee step's per-second series feeds the
 * HTML report's charts.
 */
import { DEFAULTS, type LoadOptions } from "../load/driver/args.js"
import { findKnee, judgeStep, type KneeResult } from "../load/driver/knee.js"
import type { RecorderSummary } from "../load/driver/recorder.js"
import { queryHistory, runScenario, warmUp } from "../load/driver/scenarios.js"
import { Traffic } from "../load/driver/traffic.js"
import { sensorId } from "../load/lib/sensors.js"
import type { Chart } from "./html-report.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget, withClient } from "./targets.js"

export interface KneeRow {
  readonly batch: number
  readonly perSensor: number
  readonly knee: KneeResult
  /** Readings per second at the highest sustainable rate (requests/s x batch). */
  readonly sustainableReadingsPerSec: number | null
  /** The summary of the step that held last (its p50/p99/max), if any. */
  readonly held: RecorderSummary | null
  readonly steps: ReadonlyArray<RecorderSummary>
}

export interface HistoryRow {
  readonly rows: number
  readonly sensors: number
  readonly insertSeconds: number
  readonly queries: RecorderSummary
}

export interface DriverRun {
  readonly knees: ReadonlyArray<KneeRow>
  readonly history: HistoryRow | null
}

const D = SETTINGS.driver

const baseOptions = (origin: string): LoadOptions => ({
  ...DEFAULTS,
  scenario: "http",
  url: origin,
  durationMs: D.stepMs,
  sensors: D.sensors,
  sites: 100,
  maxInFlight: D.maxInFlight,
  p99Ms: SETTINGS.goals.kneeP99Ms,
  maxErrorRate: D.maxErrorRate
})

const kneeFor = async (origin: string, batch: number, startRate: number, log: (line: string) => void): Promise<KneeRow> => {
  const perSensor = Math.min(batch, 10)
  const o = { ...baseOptions(origin), batch, perSensor, prefix: `knee${batch}-` }
  const warm = await warmUp(o)
  log(`    ${batch}/request: ${warm.sensors.toLocaleString("en-US")} sensors activated in ${(warm.ms / 1000).toFixed(1)} s`)
  const steps: Array<RecorderSummary> = []
  const knee = await findKnee(startRate, D.factor, D.maxSteps, async (rate) => {
    const r = await runScenario(o, rate)
    const part = r.parts[0]!
    steps.push(part)
    const step = judgeStep(rate, part, o.p99Ms, o.maxErrorRate)
    log(
      `    ${batch}/request at ${rate} req/s (${Math.round(rate * batch).toLocaleString("en-US")} readings/s): ` +
        `p99 ${part.latencyMs.p99.toFixed(1)} ms, ${Math.round(part.throughput.readingsPerSec).toLocaleString("en-US")} readings/s answered` +
        (step.held ? "" : ` -> ${step.why}`)
    )
    return step
  })
  const heldIndex = knee.steps.findLastIndex((s) => s.held)
  return {
    batch,
    perSensor,
    knee,
    sustainableReadingsPerSec: knee.sustainableRate === null ? null : knee.sustainableRate * batch,
    held: heldIndex < 0 ? null : (steps[heldIndex] ?? null),
    steps
  }
}

const historyRow = async (target: NodeTarget, log: (line: string) => void): Promise<HistoryRow> => {
  const sensors = D.historySensors
  const perSensor = Math.floor(D.historyRows / sensors)
  const ids = Array.from({ length: sensors }, (_, i) => `hist-${sensorId(i, 100)}`)
  const started = performance.now()
  await withClient(target.dbUrl, async (c) => {
    await c.query("insert into sensors (id) select unnest($1::text[]) on conflict do nothing", [ids])
    // One reading per second per sensor, going back in time from now: perSensor seconds of history.
    for (let from = 0; from < sensors; from += 100) {
      await c.query(
        `insert into readings (sensor_key, ts, value, quality)
         select s.key, date_trunc('second', now()) - make_interval(secs => g), 50 + 10 * sin(g / 60.0), 0
         from sensors s cross join generate_series(1, $2::int) g
         where s.id = any($1::text[])`,
        [ids.slice(from, from + 100), perSensor]
      )
    }
    // Vacuumed, analyzed and checkpointed now: a table that grew by millions of rows in a minute
    // would otherwise be vacuumed (and its WAL flushed) during the queries, which is not the
    // steady state being measured.
    await c.query("vacuum (analyze) readings")
    await c.query("checkpoint")
  })
  const insertSeconds = (performance.now() - started) / 1000
  log(`    history: ${(sensors * perSensor).toLocaleString("en-US")} rows inserted in ${insertSeconds.toFixed(0)} s`)
  const o = { ...baseOptions(target.origin), durationMs: D.historyMs, prefix: "hist-", sensors }
  const queries = await queryHistory(o, new Traffic(sensors, 100, "hist-", 1), D.historyRate)
  log(
    `    history: ${queries.ok.toLocaleString("en-US")} queries at ${D.historyRate}/s (newest 100 of a sensor): ` +
      `p50 ${queries.latencyMs.p50.toFixed(1)} / p99 ${queries.latencyMs.p99.toFixed(1)} / max ${queries.latencyMs.max.toFixed(1)} ms`
  )
  return { rows: sensors * perSensor, sensors, insertSeconds, queries }
}

export const runDriverPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<DriverRun> => {
  const target = await startTarget("external")
  track(target)
  try {
    const knees: Array<KneeRow> = []
    if (D.knee) for (const [batch, start] of D.knees) knees.push(await kneeFor(target.origin, batch, start, log))
    const history = D.historyRows > 0 ? await historyRow(target, log) : null
    return { knees, history }
  } finally {
    track(null)
    await target.stop()
  }
}

/** Throughput and p99 over time across a knee's steps, one series per batch size. */
export const driverCharts = (run: DriverRun): Array<Chart> => {
  const over = (row: KneeRow, pick: (s: RecorderSummary["series"][number]) => number) => {
    let offset = 0
    const points: Array<readonly [number, number]> = []
    for (const step of row.steps) {
      for (const s of step.series) points.push([offset + s.second, pick(s)])
      offset += step.series.length
    }
    return { name: `${row.batch}/request`, points }
  }
  const charts: Array<Chart> = [
    { title: "HTTP ingest knee: readings answered per second (rate steps up)", yLabel: "readings/s", series: run.knees.map((k) => over(k, (s) => s.readings)) },
    { title: "HTTP ingest knee: p99 latency per second", yLabel: "ms", series: run.knees.map((k) => over(k, (s) => s.p99Ms)) }
  ]
  if (run.history !== null) {
    charts.push({
      title: `History queries over ${run.history.rows.toLocaleString("en-US")} rows: p50 and p99 per second`,
      yLabel: "ms",
      series: [
        { name: "p50", points: run.history.queries.series.map((s) => [s.second, s.p50Ms] as const) },
        { name: "p99", points: run.history.queries.series.map((s) => [s.second, s.p99Ms] as const) }
      ]
    })
  }
  return charts
}
