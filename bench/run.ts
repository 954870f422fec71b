/**
 * `npm run bench`: one command, one run. Measures the bare HTTP ceiling once, then for each target
 * database (the machine's PostgreSQL in a scratch database, the node's embedded PostgreSQL in a temp
 * DATA_DIR) the bare insert ceiling, the node's saturated durable throughput, its latency at half
 * that peak, and that no acknowledged reading was lost. Prints a table, writes
 * bench/results/<ISO timestamp>.json, and exits non-zero if readings were lost or a target failed.
 */
import * as os from "node:os"
import * as path from "node:path"
import { abortAll } from "./abort.js"
import { terminateAll } from "./child.js"
import { type BareHttpResult, bareHttpLimit } from "./limits.js"
import { runNodePhases } from "./node-phases.js"
import { type AlertRow, runAlertPhase } from "./alerts-phase.js"
import { type AuthRow, runAuthPhase } from "./auth-phase.js"
import { type ForwardRow, runForwardPhase } from "./forward-phase.js"
import { aggregateGoals, type AggregatesRow, aggregateTable, runAggregatesPhase } from "./aggregates-phase.js"
import { rollupGoals, type RollupsRow, rollupTable, runRollupsPhase } from "./rollups-phase.js"
import { type DriverRun, driverCharts, runDriverPhase } from "./driver-phase.js"
import { driverGoals, driverTables } from "./driver-report.js"
import { writeHtmlReport } from "./html-report.js"
import { ALERT_HEADERS, alertGoals, alertRows, LIVE_HEADERS, liveRows, memoryGoals, WS_HEADERS, wsGoals, wsRows } from "./ws-report.js"
import {
  goals,
  type Machine,
  noisyPhases,
  PHASE_HEADERS,
  phaseRows,
  SUMMARY_HEADERS,
  summaryRows,
  type TargetReport,
  table,
  writeJson
} from "./report.js"
import { SETTINGS, type TargetName } from "./settings.js"
import { type NodeTarget, ROOT, startTarget } from "./targets.js"
import { type MemoryRow, runMemoryPhase } from "./memory-phase.js"
import { mqttGoals, type MqttRun, mqttTable, runMqttPhase } from "./mqtt-phase.js"
import { runWsPhases, type WsRun } from "./ws-phases.js"

const printed: Array<string> = []
const log = (line: string): void => {
  console.log(line)
  printed.push(line)
}

const NOTES = [
  `Each request: ${SETTINGS.body.sensorsPerRequest} sensors x ${SETTINGS.body.readingsPerSensor} readings (a gateway forwarding 1 s of 10 Hz data), ` +
    `over ${SETTINGS.body.sensors} sensors in turn; a sensor never has two requests in flight; ts strictly increase per sensor.`,
  "The load generator runs on the same 2 cores as the node and PostgreSQL; its own CPU is the 'bench' column above.",
  "Bare insert: the node's INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING without its sensor_state CTE, 2,000-row " +
    "batches (200 sensors x 10 readings), into the node's own partitioned readings table, keys >= 1,000,000, a later day's partition.",
  "Closed loop: a worker that gets 503 waits Retry-After (capped at 1 s) before its next request. Open model: latency from the " +
    "intended send time; 'unsent' = arrivals that could not be sent (in-flight cap) before the end.",
  "Node readings/s = readings in 202 answers with durable: true, per second of the phase (in-flight tail included)."
]
const errorText = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e))

const running = new Set<NodeTarget>()
let interrupted = false
/** Keeps the node a later phase runs in `running`, so that Ctrl-C stops it too. */
const trackRunning = (t: NodeTarget | null): void => {
  if (t === null) running.clear()
  else running.add(t)
}
const onSignal = (signal: NodeJS.Signals): void => {
  if (interrupted) return
  interrupted = true
  abortAll()
  log(`\n${signal}: stopping the nodes and dropping scratch databases...`)
  const stops = Array.from(running, (t) => t.stop().catch(() => undefined))
  terminateAll()
  void Promise.all(stops).finally(() => process.exit(130))
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

const runTarget = async (name: TargetName): Promise<TargetReport> => {
  log(`\n== target: ${name} ==`)
  let target: NodeTarget
  try {
    target = await startTarget(name)
  } catch (e) {
    log(`  could not start: ${errorText(e)}`)
    return { name, description: "", pgVersion: "?", readyMs: 0, run: null, error: errorText(e), stop: null, nodeLog: { counts: {}, first: [] } }
  }
  running.add(target)
  log(`  ${target.description}; PostgreSQL ${target.pgVersion}; node ready in ${Math.round(target.readyMs)} ms`)
  let run: TargetReport["run"] = null
  let error: string | null = null
  try {
    run = await runNodePhases(target, log)
  } catch (e) {
    error = errorText(e)
    log(`  FAILED: ${error}`)
  }
  const nodeLog = target.child.logProblems()
  const diedOnItsOwn = target.child.exitStatus()
  if (diedOnItsOwn !== null) log(`  !!! the node was not running any more when the bench came to stop it (${diedOnItsOwn})`)
  const stop = await target.stop()
  running.delete(target)
  log(`  node stopped in ${Math.round(stop.stopMs)} ms (exit ${stop.code ?? stop.signal}${stop.killed ? ", KILLED after timeout" : ""})`)
  return { name, description: target.description, pgVersion: target.pgVersion, readyMs: target.readyMs, run, error, stop, nodeLog }
}

const main = async (): Promise<number> => {
  const startedAt = new Date()
  const t0 = performance.now()
  const cpus = os.cpus()
  const machine: Machine = {
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100)
  }
  log(`flowmesh bench ${startedAt.toISOString()} - ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}`)
  log(`load average at start: ${machine.loadAvgAtStart.join(" ")}${(machine.loadAvgAtStart[0] ?? 0) > 0.5 ? "  (the machine is not idle: numbers will be noisy)" : ""}`)
  log(
    `request shape: ${SETTINGS.body.sensorsPerRequest} sensors x ${SETTINGS.body.readingsPerSensor} readings = ` +
      `${SETTINGS.body.sensorsPerRequest * SETTINGS.body.readingsPerSensor} readings per request, ${SETTINGS.body.sensors} sensors, ack=durable`
  )

  let bareHttp: BareHttpResult | null = null
  log("\n== bare HTTP server (node:http, JSON.parse, no database) ==")
  try {
    bareHttp = await bareHttpLimit()
    log(`  best: ${Math.round(bareHttp.bestReadingsPerSec).toLocaleString("en-US")} readings/s`)
  } catch (e) {
    log(`  FAILED: ${errorText(e)}`)
  }

  const targets: Array<TargetReport> = []
  for (const name of SETTINGS.targets) {
    if (interrupted) break
    targets.push(await runTarget(name))
  }

  /** Runs one phase when it is enabled and the bench was not interrupted; a failure is logged, and the phase has no result. */
  const runPhase = async <A>(enabled: boolean, title: string, run: () => Promise<A>): Promise<A | null> => {
    if (!enabled || interrupted) return null
    log(`\n== ${title} ==`)
    try {
      return await run()
    } catch (e) {
      log(`  FAILED: ${errorText(e)}`)
      return null
    }
  }

  const ws: WsRun | null = await runPhase(SETTINGS.ws.enabled, "WebSocket devices and live feed (machine PostgreSQL)", () => runWsPhases(log, trackRunning))

  const memory: Array<MemoryRow> = []
  if (SETTINGS.memory.enabled && !interrupted) {
    log("\n== memory per resident sensor (machine PostgreSQL) ==")
    for (const n of SETTINGS.memory.sizes) {
      try {
        memory.push(await runMemoryPhase(log, trackRunning, n))
      } catch (e) {
        log(`  ${n.toLocaleString("en-US")} sensors FAILED: ${errorText(e)}`)
      }
    }
    const largest = Math.max(...SETTINGS.memory.sizes)
    if (SETTINGS.memory.fullWindow > 1 && Number.isFinite(largest) && !interrupted) {
      try {
        memory.push(await runMemoryPhase(log, trackRunning, largest, SETTINGS.memory.fullWindow))
      } catch (e) {
        log(`  ${largest.toLocaleString("en-US")} sensors with full windows FAILED: ${errorText(e)}`)
      }
    }
  }

  const driver: DriverRun | null = await runPhase(SETTINGS.driver.enabled, "load driver: HTTP ingest knee (1/10/100 readings per request) and history queries (machine PostgreSQL)", () => runDriverPhase(log, trackRunning))

  const alerts: AlertRow | null = await runPhase(SETTINGS.alerts.enabled, "alert latency and offline detection (machine PostgreSQL)", () => runAlertPhase(log, trackRunning))

  const auth: AuthRow | null = await runPhase(SETTINGS.auth.enabled, "cost of authentication: HTTP ingest with AUTH_MODE=none vs required (machine PostgreSQL)", () => runAuthPhase(log, trackRunning))

  const rollups: RollupsRow | null = await runPhase(SETTINGS.rollups.enabled, "cost of rollups: HTTP ingest with ROLLUPS=false vs true (machine PostgreSQL)", () => runRollupsPhase(log, trackRunning))

  const aggregates: AggregatesRow | null = await runPhase(SETTINGS.aggregates.enabled, "aggregate queries and exports over seeded rollups (machine PostgreSQL)", () => runAggregatesPhase(log, trackRunning))

  const mqtt: MqttRun | null = await runPhase(SETTINGS.mqtt.enabled, "MQTT devices: QoS 1 through a private Mosquitto, 100 and 1 readings per message, and a node killed mid-run (machine PostgreSQL)", () => runMqttPhase(log, trackRunning))

  const forward: ForwardRow | null = await runPhase(SETTINGS.forward.enabled, "cost of forwarding readings out: HTTP ingest with forwarding off vs to Redis and MQTT (machine PostgreSQL and Redis)", () =>
    runForwardPhase(log, trackRunning)
  )

  const forwardGoals =
    forward === null
      ? []
      : [
          {
            goal: "HTTP ingest forwarding every reading to a Redis stream and MQTT / forwarding off",
            target: `>= ${SETTINGS.goals.forwardOnOverOff}x`,
            measured: `${forward.ratio.toFixed(2)}x (per node CPU second ${forward.cpuRatio.toFixed(2)}x; dropped: Redis ${forward.dropped.redis}, MQTT ${forward.dropped.mqtt})`,
            pass: forward.ratio >= SETTINGS.goals.forwardOnOverOff && forward.errors === 0
          }
        ]
  const authGoals =
    auth === null
      ? []
      : [
          {
            goal: "HTTP ingest with AUTH_MODE=required / with none (device key on every request)",
            target: `>= ${SETTINGS.goals.authOverNone}x`,
            measured: `${auth.ratio.toFixed(2)}x`,
            pass: auth.ratio >= SETTINGS.goals.authOverNone && auth.errors === 0
          }
        ]
  const goalList = [...goals(targets), ...wsGoals(ws), ...memory.flatMap(memoryGoals), ...alertGoals(alerts), ...driverGoals(driver), ...authGoals, ...rollupGoals(rollups), ...aggregateGoals(aggregates), ...mqttGoals(mqtt), ...forwardGoals]
  log("\n== summary ==")
  log(table(SUMMARY_HEADERS, summaryRows(targets, bareHttp)))
  log("(latencies: open model at half the peak request rate, measured from the intended send time, 202 answers only)")
  log("\n== phases ==")
  log(table(PHASE_HEADERS, phaseRows(targets, bareHttp)))
  log(
    `(CPU in cores: bench = this load generator, child = the node (or the bare server), pg = all postgres processes, ` +
      `else = anything else on the machine (should be ~0); the load generator shares the ${machine.cores} cores with the node and PostgreSQL)`
  )
  const noisy = noisyPhases(targets, bareHttp)
  if (noisy.length > 0) log(`WARNING: other work on the machine competed with the bench during: ${noisy.join(", ")}`)
  log("\n== durability ==")
  for (const t of targets) {
    if (t.run === null) {
      log(`${t.name}: not measured (${t.error?.split("\n")[0] ?? "?"})`)
      continue
    }
    const d = t.run.durability
    const stopped = t.stop === null ? "?" : `${(t.stop.stopMs / 1000).toFixed(1)} s (exit ${t.stop.code ?? t.stop.signal}${t.stop.killed ? ", KILLED" : ""})`
    log(`${t.name}: node ready in ${(t.readyMs / 1000).toFixed(1)} s, stopped after SIGTERM in ${stopped}`)
    log(
      `${t.name}: acknowledged durable ${d.acknowledgedDurable.toLocaleString("en-US")}, stored ${d.stored.toLocaleString("en-US")}, ` +
        `lost: ${d.lost}${d.storedUnacknowledged > 0 ? `, stored but not acknowledged: ${d.storedUnacknowledged}` : ""}`
    )
    const statuses = Object.entries(t.run.total.statusSamples)
    for (const [status, sample] of statuses) log(`  non-202 ${status} (x${t.run.total.statuses[status] ?? 0}), e.g.: ${sample}`)
    const logCounts = Object.entries(t.nodeLog.counts)
    if (logCounts.length > 0) log(`  node log: ${logCounts.map(([k, v]) => `${k}x${v}`).join(" ")}; ${t.nodeLog.first.join(" | ")}`)
  }
  if (ws !== null) {
    log("\n== WebSocket ==")
    log(table(WS_HEADERS, wsRows(ws, targets, bareHttp)))
    if (ws.live !== null) log(table(LIVE_HEADERS, liveRows(ws.live)))
    log(`websocket durability: acknowledged durable ${ws.acknowledgedDurable.toLocaleString("en-US")}, stored ${ws.stored.toLocaleString("en-US")}, lost: ${ws.lost}`)
  }
  if (driver !== null) for (const t of driverTables(driver, targets, bareHttp)) log(t)
  if (alerts !== null) {
    log("\n== alerts ==")
    log(table(ALERT_HEADERS, alertRows(alerts)))
  }
  if (auth !== null) {
    log("\n== authentication ==")
    log(
      table(
        ["HTTP ingest, 100/request, ack=durable", "AUTH_MODE=none", "AUTH_MODE=required", "required / none", "per node CPU-second", "turns", "401/403/errors"],
        [
          [
            "median turn, readings/s",
            Math.round(auth.noneReadingsPerSec).toLocaleString("en-US"),
            Math.round(auth.requiredReadingsPerSec).toLocaleString("en-US"),
            `${auth.ratio.toFixed(2)}x`,
            `${auth.cpuRatio.toFixed(2)}x`,
            String(auth.turns),
            String(auth.errors)
          ]
        ]
      )
    )
  }
  if (rollups !== null) {
    log("\n== rollups ==")
    const t = rollupTable(rollups)
    log(table(t.headers, t.rows))
  }
  if (aggregates !== null) {
    log("\n== aggregates and exports ==")
    const t = aggregateTable(aggregates)
    log(table(t.headers, t.rows))
  }
  if (mqtt !== null) {
    log("\n== MQTT ==")
    const t = mqttTable(mqtt)
    log(table(t.headers, t.rows))
    const z = mqtt.zeroLoss
    if (z !== null) {
      log(
        `mqtt zero loss (SIGKILL mid-run, restart under the same MQTT_CLIENT_ID): PUBACKed ${z.pubackedReadings.toLocaleString("en-US")}, ` +
          `stored ${z.stored.toLocaleString("en-US")}, missing ${z.missing}, stored twice ${z.duplicates}, redelivered and answered duplicate ${z.redeliveredDuplicates.toLocaleString("en-US")}`
      )
    }
  }
  log("\n== goals ==")
  log(table(["goal", "target", "measured", "result"], goalList.map((g) => [g.goal, g.target, g.measured, g.pass ? "PASS" : "FAIL"])))
  log("\n== notes ==")
  for (const note of NOTES) log(`- ${note}`)
  if (bareHttp?.runs.some((r) => r.cpu.bench >= 0.8) === true) {
    log("- Bare HTTP: the load generator itself was saturated (~1 core, one thread), so that ceiling is a lower bound.")
  }
  log(`\nmachine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, ${machine.platform}`)
  log(`PostgreSQL: ${targets.map((t) => `${t.name} ${t.pgVersion}`).join(", ")}`)

  const elapsedS = (performance.now() - t0) / 1000
  const file = await writeJson(path.join(ROOT, "bench", "results"), startedAt, {
    startedAt: startedAt.toISOString(),
    elapsedSeconds: Math.round(elapsedS),
    machine,
    settings: SETTINGS,
    bareHttp,
    targets,
    ws,
    memory,
    alerts,
    driver,
    auth,
    rollups,
    aggregates,
    mqtt,
    forward,
    goals: goalList
  })
  const html = file.replace(/\.json$/, ".html")
  log(`results: ${path.relative(ROOT, file)} and ${path.relative(ROOT, html)} (open it in a browser); took ${elapsedS.toFixed(0)} s`)
  await writeHtmlReport(html, `flowmesh bench ${startedAt.toISOString()} - ${machine.cpuModel}, ${machine.cores} cores`, printed.join("\n"), driver === null ? [] : driverCharts(driver))

  const lost = targets.reduce((s, t) => s + (t.run?.durability.lost ?? 0), 0) + (ws?.lost ?? 0) + (mqtt?.zeroLoss?.missing ?? 0)
  if (lost > 0) {
    log(`\n!!! BENCH FAILED: ${lost} durably acknowledged readings are missing from PostgreSQL !!!`)
    return 2
  }
  return targets.some((t) => t.run === null || t.run.nodeDied !== null) || bareHttp === null ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(errorText(e))
    terminateAll()
    process.exit(1)
  }
)
