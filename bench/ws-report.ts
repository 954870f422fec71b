/** The WebSocket and memory parts of the bench report: device rows with same-run limits and ratios, live latency, goals. */
import type { BareHttpResult } from "./limits.js"
import { type Goal, int, ms, ratio, type TargetReport } from "./report.js"
import { SETTINGS } from "./settings.js"
import type { AlertRow } from "./alerts-phase.js"
import type { MemoryRow } from "./memory-phase.js"
import type { LiveRow, WsRun } from "./ws-phases.js"

const cpu = (c: LiveRow["cpu"]): string => `${c.bench.toFixed(2)}/${c.child.toFixed(2)}/${c.postgres.toFixed(2)}/${c.else.toFixed(2)}/${c.idle.toFixed(2)}`

export const WS_HEADERS = ["phase", "frames/s", "readings/s durable", "/ bare insert", "/ bare HTTP", "ack p50 / p99 ms", "problems", "CPU bench/child/pg/else/idle"]

export const wsRows = (ws: WsRun, targets: ReadonlyArray<TargetReport>, bareHttp: BareHttpResult | null): Array<Array<string>> => {
  const bareInsert = targets.find((t) => t.name === "external")?.run?.bareInsert.bestRowsPerSec ?? Number.NaN
  const http = bareHttp?.bestReadingsPerSec ?? Number.NaN
  return ws.devices.map((d) => [
    d.phase,
    int(d.framesPerSec),
    int(d.readingsPerSec),
    ratio(d.readingsPerSec / bareInsert),
    ratio(d.readingsPerSec / http),
    `${ms(d.p50Ms)} / ${ms(d.p99Ms)}`,
    d.problems,
    cpu(d.cpu)
  ])
}

export const LIVE_HEADERS = ["live feed", "readings/s in", "dashboards", "readings/s delivered", "p50 / p99 / max ms", "node-side p99", "lagged", "CPU bench/child/pg/else/idle"]

export const liveRows = (live: LiveRow): Array<Array<string>> => [
  [
    "ingest -> dashboard",
    int(live.ingestReadingsPerSec),
    String(live.dashboards),
    int(live.deliveredPerSec),
    `${ms(live.p50Ms)} / ${ms(live.p99Ms)} / ${ms(live.maxMs)}`,
    `<= ${live.nodeP99Ms} ms`,
    int(live.lagged),
    cpu(live.cpu)
  ]
]

export const wsGoals = (ws: WsRun | null): Array<Goal> => {
  if (ws === null) return []
  const one = Math.max(...ws.devices.filter((d) => d.perFrame === 1 && d.coalescing).map((d) => d.readingsPerSec))
  const p99 = ws.live?.p99Ms ?? Number.NaN
  return [
    {
      goal: "ws: one reading per frame, readings/s durable (best depth)",
      target: `>= ${int(SETTINGS.goals.wsOnePerFrame)}`,
      measured: int(one),
      pass: one >= SETTINGS.goals.wsOnePerFrame
    },
    { goal: `live: p99 ingest -> dashboard at ${SETTINGS.ws.liveRate} readings/s, 200 dashboards`, target: `<= ${SETTINGS.goals.liveP99Ms} ms`, measured: `${ms(p99)} ms`, pass: p99 <= SETTINGS.goals.liveP99Ms },
    { goal: "ws: no durably acknowledged reading lost", target: "lost: 0", measured: `lost: ${ws.lost}`, pass: ws.lost === 0 }
  ]
}

/** The row divides by the sensors activated: it only means something if they were all resident when measured. */
export const allResident = (m: MemoryRow): boolean => m.residentAfter >= m.sensors

export const memoryGoals = (m: MemoryRow): Array<Goal> => {
  const full = m.readingsPerSensor > 1
  const limit = full ? SETTINGS.goals.bytesPerFullSensor : SETTINGS.goals.bytesPerSensor
  return [
    {
      goal: `memory: RSS per resident sensor (${m.sensors.toLocaleString("en-US")} resident${full ? `, full windows of ${m.readingsPerSensor}` : ""})`,
      target: `<= ${(limit / 1024).toFixed(0)} KB`,
      measured: allResident(m)
        ? `${(m.marginalRssPerSensorBytes / 1024).toFixed(1)} KB marginal (heap ${(m.marginalHeapPerSensorBytes / 1024).toFixed(1)} KB; ${(m.rssPerSensorBytes / 1024).toFixed(1)} KB from idle)`
        : `not measured: ${m.residentAfter.toLocaleString("en-US")} of ${m.sensors.toLocaleString("en-US")} resident`,
      pass: allResident(m) && m.marginalRssPerSensorBytes <= limit
    }
  ]
}

export const ALERT_HEADERS = ["alerts", "sensors", "readings/s", "breaches", "-> webhook p50 / p99 / max ms", "-> dashboard p50 / p99 / max ms", "offline detected", "after overdue p50 / max s"]

export const alertRows = (a: AlertRow): Array<Array<string>> => [
  [
    "breach -> notification",
    int(a.sensors),
    int(a.readingsPerSec),
    String(a.breaches),
    `${ms(a.webhook.p50Ms)} / ${ms(a.webhook.p99Ms)} / ${ms(a.webhook.maxMs)} (${a.webhook.count})`,
    `${ms(a.ws.p50Ms)} / ${ms(a.ws.p99Ms)} / ${ms(a.ws.maxMs)} (${a.ws.count})`,
    `${a.offline.detected}/${a.offline.sensors}${a.offline.premature > 0 ? `, ${a.offline.premature} early` : ""} (offline after ${a.offline.afterSeconds} s)`,
    `${(a.offline.p50Ms / 1000).toFixed(1)} / ${(a.offline.maxMs / 1000).toFixed(1)}`
  ]
]

export const alertGoals = (a: AlertRow | null): Array<Goal> => {
  if (a === null) return []
  const p99 = Math.max(a.webhook.p99Ms, a.ws.p99Ms)
  const complete = a.webhook.count === a.breaches && a.ws.count === a.breaches
  return [
    {
      goal: "alerts: p99 breach -> webhook and dashboard (10,000 sensors, 1 % breach)",
      target: `<= ${SETTINGS.goals.alertP99Ms} ms`,
      measured: `${ms(p99)} ms`,
      pass: p99 <= SETTINGS.goals.alertP99Ms
    },
    {
      goal: "alerts: every breach notified on both channels",
      target: `${a.breaches} / ${a.breaches}`,
      measured: `${a.webhook.count} / ${a.ws.count}`,
      pass: complete
    },
    {
      goal: "alerts: every silent sensor found offline, none before it was overdue",
      target: `${a.offline.sensors}, 0 early`,
      measured: `${a.offline.detected}, ${a.offline.premature} early`,
      pass: a.offline.detected === a.offline.sensors && a.offline.premature === 0
    }
  ]
}
