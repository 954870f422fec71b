/**
 * The bench rows that come from the load driver (`npm run load`): for HTTP ingest at 1, 10 and 100
 * readings per request and for WebSocket devices (one reading per frame), the knee (the highest
 * open-model arrival rate whose p99 stays within the goal with under 1 % errors: the number a
 * deployment is sized with); dashboards' live latency at a steady rate; and the p99 of history
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
  /** "HTTP 10/request", "WS 1/frame": the row's name in tables and charts. */
  readonly label: string
  /** What one arrival is: an HTTP request or a WebSocket frame. */
  readonly unit: "req" | "frame"
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

/** Dashboards watching sensors fed one reading per request at a steady rate: frame latency from the reading's ts. */
export interface LiveDriverRow {
  readonly rate: number
  readonly dashboards: number
  readonly watchedSensors: number
  readonly frames: RecorderSummary
  readonly ingest: RecorderSummary
}

export interface DriverRun {
  readonly knees: ReadonlyArray<KneeRow>
  readonly live: LiveDriverRow | null
  readonly history: HistoryRow | null
}

const D = SETTINGS.driver
/**
 * Every knee row drives the same 10,000 sensors (a deployment sizes one fleet, sending in different
 * shapes): with a new set per row the node would hold 40,000 resident sensors by the last row, and
 * the GC pauses of that heap, not the shape, would set the tail.
 */
const FLEET = "knee-"
/** The node's default, which the bench does not change. */
const SNAPSHOT_INTERVAL_MS = 5_000

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

const stepper = (o: LoadOptions, label: string, unit: string, batch: number, steps: Array<RecorderSummary>, log: (line: string) => void) => async (rate: number) => {
  const r = await runScenario(o, rate)
  const part = r.parts[0]!
  steps.push(part)
  const step = judgeStep(rate, part, o.p99Ms, o.maxErrorRate)
  log(
    `    ${label} at ${rate} ${unit}/s (${Math.round(rate * batch).toLocaleString("en-US")} readings/s): ` +
      `p99 ${part.latencyMs.p99.toFixed(1)} ms, ${Math.round(part.throughput.readingsPerSec).toLocaleString("en-US")} readings/s answered` +
      (step.held ? "" : ` -> ${step.why}`)
  )
  return step
}

const gauge = (text: string, name: string): number => {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text)
  return m === null ? Number.NaN : Number(m[1])
}

/**
 * Waits out the warm-up's tail before a measurement: every freshly activated sensor writes its first
 * snapshot and schedules a trailing one `SNAPSHOT_INTERVAL_MS` (5 s) later, so 10,000 sensors
 * activated at once land 10,000 snapshot writes on the first step. Steady state is what is measured:
 * one interval, then until the writer's queue and the edge's pending messages are empty twice in a row.
 */
export const settle = async (origin: string): Promise<number> => {
  const started = performance.now()
  await new Promise((r) => setTimeout(r, SNAPSHOT_INTERVAL_MS + 1_000))
  let quiet = 0
  while (quiet < 2 && performance.now() - started < 60_000) {
    const text = await (await fetch(`${origin}/metrics`)).text()
    const idle = gauge(text, "flowmesh_writer_queue_rows") === 0 && gauge(text, "flowmesh_ingest_pending_readings") === 0
    quiet = idle ? quiet + 1 : 0
    await new Promise((r) => setTimeout(r, 500))
  }
  return performance.now() - started
}

const kneeRow = async (
  o: LoadOptions,
  shape: { readonly label: string; readonly unit: KneeRow["unit"]; readonly batch: number; readonly perSensor: number; readonly start: number },
  log: (line: string) => void
): Promise<KneeRow> => {
  const warm = await warmUp(o)
  const settled = await settle(o.url)
  log(
    `    ${shape.label}: ${warm.sensors.toLocaleString("en-US")} sensors activated in ${(warm.ms / 1000).toFixed(1)} s, ` +
      `their first snapshots written in ${(settled / 1000).toFixed(1)} s more`
  )
  const steps: Array<RecorderSummary> = []
  const knee = await findKnee(shape.start, D.factor, D.maxSteps, stepper(o, shape.label, shape.unit, shape.batch, steps, log))
  const heldIndex = knee.steps.findLastIndex((s) => s.held)
  return {
    ...shape,
    knee,
    sustainableReadingsPerSec: knee.sustainableRate === null ? null : knee.sustainableRate * shape.batch,
    held: heldIndex < 0 ? null : (steps[heldIndex] ?? null),
    steps
  }
}

const httpKnee = (origin: string, batch: number, start: number, log: (line: string) => void): Promise<KneeRow> => {
  const perSensor = Math.min(batch, 10)
  const o = { ...baseOptions(origin), batch, perSensor, prefix: FLEET }
  return kneeRow(o, { label: `HTTP ${batch}/request`, unit: "req", batch, perSensor, start }, log)
}

/** Device connections each sending one reading per frame, frames spread over them in turn (the k6 ws-devices script). */
const wsKnee = (origin: string, log: (line: string) => void): Promise<KneeRow> => {
  const o = { ...baseOptions(origin), scenario: "ws" as const, devices: D.wsDevices, prefix: FLEET }
  return kneeRow(o, { label: `WS 1/frame, ${D.wsDevices} devices`, unit: "frame", batch: 1, perSensor: 1, start: D.wsStartRate }, log)
}

const liveRow = async (origin: string, log: (line: string) => void): Promise<LiveDriverRow> => {
  const L = D.live
  const o = {
    ...baseOptions(origin),
    scenario: "live" as const,
    durationMs: L.durationMs,
    sensors: L.dashboards * L.sensorsPerDashboard,
    dashboards: L.dashboards,
    sensorsPerDashboard: L.sensorsPerDashboard,
    prefix: "livedrv-"
  }
  await warmUp(o)
  await settle(o.url)
  const r = await runScenario(o, L.rate)
  const frames = r.parts[0]!
  const ingest = r.parts[1]!
  log(
    `    live: ${L.rate} readings/s (1 per request) to ${o.sensors} sensors, ${L.dashboards} dashboards x ${L.sensorsPerDashboard}: ` +
      `${frames.latencyMs.count.toLocaleString("en-US")} readings seen, p50/p99/max ${frames.latencyMs.p50.toFixed(1)}/${frames.latencyMs.p99.toFixed(1)}/${frames.latencyMs.max.toFixed(0)} ms ` +
      `(ingest p99 ${ingest.latencyMs.p99.toFixed(1)} ms)`
  )
  return { rate: L.rate, dashboards: L.dashboards, watchedSensors: o.sensors, frames, ingest }
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
    if (D.knee) {
      for (const [batch, start] of D.knees) knees.push(await httpKnee(target.origin, batch, start, log))
      knees.push(await wsKnee(target.origin, log))
    }
    const live = D.live.enabled ? await liveRow(target.origin, log) : null
    const history = D.historyRows > 0 ? await historyRow(target, log) : null
    return { knees, live, history }
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
    return { name: row.label, points }
  }
  const charts: Array<Chart> = [
    { title: "Ingest knee: readings answered per second (rate steps up)", yLabel: "readings/s", series: run.knees.map((k) => over(k, (s) => s.readings)) },
    { title: "Ingest knee: p99 latency per second", yLabel: "ms", series: run.knees.map((k) => over(k, (s) => s.p99Ms)) }
  ]
  if (run.live !== null) {
    charts.push({
      title: `Live feed: reading to dashboard frame, p50 and p99 per second (${run.live.rate} readings/s)`,
      yLabel: "ms",
      series: [
        { name: "p50", points: run.live.frames.series.map((s) => [s.second, s.p50Ms] as const) },
        { name: "p99", points: run.live.frames.series.map((s) => [s.second, s.p99Ms] as const) }
      ]
    })
  }
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
