/** The load driver's part of the bench report: the knee per ingest shape, live latency and history queries, with same-run limits. */
import type { BareHttpResult } from "./limits.js"
import type { DriverRun } from "./driver-phase.js"
import { type Goal, int, ms, ratio, type TargetReport, table } from "./report.js"
import { SETTINGS } from "./settings.js"

export const driverTables = (run: DriverRun, targets: ReadonlyArray<TargetReport>, bareHttp: BareHttpResult | null): Array<string> => {
  const bareInsert = targets.find((t) => t.name === "external")?.run?.bareInsert.bestRowsPerSec ?? Number.NaN
  const http = bareHttp?.bestReadingsPerSec ?? Number.NaN
  const knee = table(
    ["ingest knee", "shape", "sustainable rate", "readings/s durable", "/ bare insert", "/ bare HTTP", "p50 / p99 / max ms at the knee", "broke at"],
    run.knees.map((k) => {
      const broke = k.knee.steps.find((s) => !s.held)
      return [
        k.label,
        `${Math.ceil(k.batch / k.perSensor)} sensors x ${k.perSensor}`,
        k.knee.sustainableRate === null ? "none" : `${int(k.knee.sustainableRate)} ${k.unit}/s`,
        k.sustainableReadingsPerSec === null ? "-" : int(k.sustainableReadingsPerSec),
        k.sustainableReadingsPerSec === null ? "-" : ratio(k.sustainableReadingsPerSec / bareInsert),
        k.sustainableReadingsPerSec === null ? "-" : ratio(k.sustainableReadingsPerSec / http),
        k.held === null ? "-" : `${ms(k.held.latencyMs.p50)} / ${ms(k.held.latencyMs.p99)} / ${ms(k.held.latencyMs.max)}`,
        broke === undefined ? "(did not break)" : `${int(broke.rate)} ${k.unit}/s: ${broke.why ?? ""}`
      ]
    })
  )
  const out = [
    "\n== load driver ==",
    `(open model, ack=durable, ${SETTINGS.driver.sensors.toLocaleString("en-US")} sensors; each step ${SETTINGS.driver.stepMs / 1000} s; ` +
      `a step holds while p99 <= ${SETTINGS.goals.kneeP99Ms} ms with < ${SETTINGS.driver.maxErrorRate * 100}% errors; latency from the intended send time)`,
    knee
  ]
  const l = run.live
  if (l !== null) {
    const f = l.frames.latencyMs
    out.push(
      table(
        ["live feed (driver)", "ingest", "dashboards x sensors", "readings seen", "p50 / p90 / p99 / max ms", "lagged"],
        [
          [
            "reading ts -> dashboard frame",
            `${int(l.rate)} readings/s, 1 per request, p99 ${ms(l.ingest.latencyMs.p99)} ms`,
            `${l.dashboards} x ${l.watchedSensors / l.dashboards}`,
            int(f.count),
            `${ms(f.p50)} / ${ms(f.p90)} / ${ms(f.p99)} / ${ms(f.max)}`,
            String(l.frames.errors.lagged ?? 0)
          ]
        ]
      )
    )
  }
  const h = run.history
  if (h !== null) {
    out.push(
      table(
        ["history queries", "rows in readings", "sensors", "rate/s", "p50 / p90 / p99 / max ms", "errors"],
        [
          [
            "newest 100 of one sensor",
            int(h.rows),
            int(h.sensors),
            int(SETTINGS.driver.historyRate),
            `${ms(h.queries.latencyMs.p50)} / ${ms(h.queries.latencyMs.p90)} / ${ms(h.queries.latencyMs.p99)} / ${ms(h.queries.latencyMs.max)}`,
            String(Object.values(h.queries.errors).reduce((a, b) => a + b, 0) + h.queries.unsent)
          ]
        ]
      )
    )
  }
  return out
}

export const driverGoals = (run: DriverRun | null): Array<Goal> => {
  if (run === null) return []
  const hundred = run.knees.find((k) => k.unit === "req" && k.batch === 100)
  const best = hundred?.sustainableReadingsPerSec ?? 0
  const out: Array<Goal> = [
    {
      goal: "HTTP 100 per request: readings/s durable within the knee (p99 <= 50 ms)",
      target: `>= ${int(SETTINGS.goals.http100PerRequest)}`,
      measured: int(best),
      pass: best >= SETTINGS.goals.http100PerRequest
    }
  ]
  for (const k of run.knees) {
    out.push({
      goal: `knee ${k.label}: a sustainable rate with p99 <= ${SETTINGS.goals.kneeP99Ms} ms`,
      target: "exists",
      measured: k.knee.sustainableRate === null ? "none" : `${int(k.knee.sustainableRate)} ${k.unit}/s`,
      pass: k.knee.sustainableRate !== null
    })
  }
  if (run.live !== null) {
    const p99 = run.live.frames.latencyMs.p99
    out.push({
      goal: `live feed p99 through the driver (${run.live.rate} readings/s)`,
      target: `<= ${SETTINGS.goals.liveP99Ms} ms`,
      measured: `${p99.toFixed(1)} ms`,
      pass: run.live.frames.latencyMs.count > 0 && p99 <= SETTINGS.goals.liveP99Ms
    })
  }
  return out
}
