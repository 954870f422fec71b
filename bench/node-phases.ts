/**
 * One target's node measurements: warm-up (until every bench sensor has been activated), closed-loop
 * saturation at each concurrency, open-model latency at a fraction of the best request rate, then
 * the durability check: the readings stored for the bench sensors must equal the readings the node
 * acknowledged as durable (readings stored but never acknowledged are reported separately).
 */
import * as os from "node:os"
import { isAborted } from "./abort.js"
import { BodyPool } from "./bodies.js"
import { type CpuShare, type MeasuredPhase, withCpu } from "./cpu.js"
import { type LoopDelay, measureLoopDelay } from "./loop-delay.js"
import { bareInsertLimit, type BareInsertResult } from "./limits.js"
import { closedLoop, openModel, type PhaseResult, requestsPerSec } from "./load-driver.js"
import { SETTINGS } from "./settings.js"
import { mergeInto, newTally, type Tally } from "./tally.js"
import { type NodeTarget, queryOne } from "./targets.js"

export interface DurabilityCheck {
  readonly acknowledgedDurable: number
  readonly stored: number
  /** Acknowledged as durable but not in the table: must be 0. */
  readonly lost: number
  /** In the table but never acknowledged as durable (e.g. answered 503 not-durable-yet, or timed out). */
  readonly storedUnacknowledged: number
}

export interface NodeRun {
  readonly bareInsert: BareInsertResult
  readonly warmup: MeasuredPhase
  readonly saturation: ReadonlyArray<MeasuredPhase>
  readonly best: PhaseResult
  readonly halfPeak: MeasuredPhase
  readonly total: Tally
  readonly durability: DurabilityCheck
  /** Set when the node exited on its own before the bench stopped it. */
  readonly nodeDied: string | null
}

const INGEST_PATH = "/api/v1/readings?ack=durable"

const checkAbort = (target?: NodeTarget): void => {
  if (isAborted()) throw new Error("interrupted")
  const status = target?.child.exitStatus() ?? null
  if (target !== undefined && status !== null) {
    throw new Error(`the node exited on its own during the run (${status}); its last output:\n${target.child.output().slice(-2_000)}`)
  }
}

const storedForBenchSensors = async (dbUrl: string): Promise<number> => {
  const row = await queryOne(
    dbUrl,
    `select count(*)::int8 as n from readings r
     where r.sensor_key in (select key from sensors where starts_with(id, $1))`,
    [SETTINGS.body.sensorPrefix]
  )
  return Number(row.n)
}

export const runNodePhases = async (target: NodeTarget, log: (line: string) => void): Promise<NodeRun> => {
  const cores = os.cpus().length
  const pid = target.child.pid
  /** A phase with the CPU split and the node's event-loop delay over it. */
  const measured = async <A>(f: () => Promise<A>): Promise<{ result: A; cpu: CpuShare; loop: LoopDelay | null }> => {
    const endLoop = await measureLoopDelay(target.origin)
    const m = await withCpu(pid, cores, f)
    return { ...m, loop: await endLoop() }
  }
  log(`  bare insert (${SETTINGS.bareInsert.batchRows}-row batches, ${SETTINGS.bareInsert.connections.join(" and ")} connections)...`)
  const bareInsert = await bareInsertLimit(target.dbUrl)
  for (const r of bareInsert.runs) {
    log(`    ${r.connections} conn: ${Math.round(r.rowsPerSec).toLocaleString("en-US")} rows/s into ${bareInsert.partition} (node's partitioned table)`)
  }

  checkAbort(target)
  const endpoint = { origin: target.origin, path: INGEST_PATH }
  const bodies = new BodyPool(SETTINGS.body)
  const total = newTally()
  const { warmupMs, warmupMaxMs, durationMs, concurrencies } = SETTINGS.node

  const warmupConcurrency = Math.max(...concurrencies)
  log(`  warm-up, ${warmupConcurrency} in flight (>= ${warmupMs} ms and until all ${SETTINGS.body.sensors} sensors were activated)...`)
  const warmup = await measured(() =>
    closedLoop({
      label: "warm-up",
      endpoint,
      bodies,
      concurrency: warmupConcurrency,
      stop: (t) => t >= warmupMs && bodies.groupsUsed() === bodies.groupCount,
      maxMs: warmupMaxMs
    })
  )
  mergeInto(total, warmup.result.tally)
  const reached = bodies.groupsUsed() * SETTINGS.body.sensorsPerRequest
  log(
    `    ${(warmup.result.elapsedMs / 1000).toFixed(1)} s, ${reached} of ${SETTINGS.body.sensors} sensors sent to` +
      (reached < SETTINGS.body.sensors ? " (cap reached: the rest are first activated in the measured phases)" : "")
  )

  checkAbort(target)
  const saturation: Array<MeasuredPhase> = []
  for (const concurrency of concurrencies) {
    log(`  saturating, ${concurrency} in flight, ${durationMs} ms...`)
    const m = await measured(() =>
      closedLoop({
        label: `closed c=${concurrency}`,
        endpoint,
        bodies,
        concurrency,
        stop: (t) => t >= durationMs,
        maxMs: durationMs + 5_000
      })
    )
    mergeInto(total, m.result.tally)
    saturation.push({ phase: m.result, cpu: m.cpu, loop: m.loop })
  }
  const best = saturation.map((s) => s.phase).reduce((a, b) => (requestsPerSec(b) > requestsPerSec(a) ? b : a))

  checkAbort(target)
  const rate = Math.max(1, requestsPerSec(best) * SETTINGS.halfPeak.fraction)
  log(`  open model at ${rate.toFixed(0)} req/s (${SETTINGS.halfPeak.fraction} x peak), ${SETTINGS.halfPeak.durationMs} ms...`)
  const half = await measured(() =>
    openModel({
      label: "half-peak",
      endpoint,
      bodies,
      ratePerSec: rate,
      durationMs: SETTINGS.halfPeak.durationMs,
      maxInFlight: SETTINGS.halfPeak.maxInFlight,
      connections: SETTINGS.halfPeak.connections
    })
  )
  mergeInto(total, half.result.tally)

  // A node that died by now still owes us its acknowledged readings: count them anyway.
  checkAbort()
  const stored = await storedForBenchSensors(target.dbUrl)
  const acknowledgedDurable = total.acceptedDurable
  const durability: DurabilityCheck = {
    acknowledgedDurable,
    stored,
    lost: Math.max(0, acknowledgedDurable - stored),
    storedUnacknowledged: Math.max(0, stored - acknowledgedDurable)
  }
  return {
    bareInsert,
    warmup: { phase: warmup.result, cpu: warmup.cpu, loop: warmup.loop },
    saturation,
    best,
    halfPeak: { phase: half.result, cpu: half.cpu, loop: half.loop },
    total,
    durability,
    nodeDied: target.child.exitStatus()
  }
}
