/**
 * The MQTT rows (issue 18): a node on the machine's PostgreSQL taking readings from a private
 * Mosquitto, driven by the load driver's MQTT fleet (`npm run load -- --scenario mqtt`) in this
 * process, apart from the node's: 1,000 devices publishing QoS 1 to their own topics, each with a
 * bounded number of messages unanswered.
 * - the same-run limits the rows are compared with: the bare insert into the node's database, and the
 *   same fleet against a bare consumer (bench/bare-mqtt-consumer.ts) that answers at once;
 * - durable throughput at 100 and at 1 reading per message (a warm-up activates the sensors first);
 * - zero loss: a second node under a fixed MQTT_CLIENT_ID, SIGKILLed mid-run and restarted under
 *   the same id on the same database; once every message is answered, the rows stored for the
 *   fleet's sensors must be exactly the readings the broker acknowledged (PUBACK), none twice.
 * BENCH_MQTT=0 skips it.
 */
import * as os from "node:os"
import { setTimeout as sleep } from "node:timers/promises"
import { DEFAULTS } from "../load/driver/args.js"
import { connectFleet, fleetSensors, type MqttOptions } from "../load/driver/mqtt.js"
import type { RecorderSummary } from "../load/driver/recorder.js"
import { freePort, spawnChild, waitForOk } from "./child.js"
import { type CpuShare, withCpu } from "./cpu.js"
import { settle } from "./driver-phase.js"
import { bareInsertLimit } from "./limits.js"
import { type Broker, startBroker } from "./mosquitto.js"
import { SETTINGS } from "./settings.js"
import { ADMIN_URL, childEnv, type NodeTarget, queryOne, ROOT, startNode, startTarget, withClient } from "./targets.js"

const M = SETTINGS.mqtt
/** The bare consumer's topics: apart from the node's, so the two never share a message. */
const BARE_PREFIX = "bare"

export interface MqttShapeRow {
  readonly perMessage: number
  readonly inFlight: number
  readonly sensors: number
  readonly readingsPerSec: number
  readonly ratioToBareInsert: number
  /** The same fleet against a consumer that answers at once and stores nothing (same run). */
  readonly bareConsumerReadingsPerSec: number
  readonly ratioToBareConsumer: number
  readonly verdict: RecorderSummary
  readonly puback: RecorderSummary
  readonly cpu: CpuShare
}

export interface MqttZeroLoss {
  readonly pubackedReadings: number
  readonly durableReadings: number
  readonly stored: number
  readonly missing: number
  readonly duplicates: number
  /** Readings answered `duplicate`: redelivered after the restart, already committed before the kill. */
  readonly redeliveredDuplicates: number
  readonly lateVerdicts: number
  readonly unanswered: number
  readonly restartMs: number
}

export interface MqttRun {
  readonly nodeEnv: Record<string, string>
  readonly bareInsertRowsPerSec: number
  readonly shapes: ReadonlyArray<MqttShapeRow>
  readonly zeroLoss: MqttZeroLoss | null
}

const nodeEnv = (broker: Broker, clientId: string): Record<string, string> => ({
  MQTT_URL: broker.url,
  MQTT_CLIENT_ID: clientId,
  MQTT_RECONNECT_MS: "200",
  ...(M.connections === null ? {} : { MQTT_CONNECTIONS: M.connections }),
  ...(M.receiveMaximum === null ? {} : { MQTT_RECEIVE_MAXIMUM: M.receiveMaximum })
})

const fleetOptions = (broker: Broker, shape: (typeof M.shapes)[number], prefix: string, topicPrefix = DEFAULTS.topicPrefix): MqttOptions => ({
  mqttUrl: broker.url,
  topicPrefix,
  devices: M.devices,
  batch: shape.perMessage,
  perSensor: shape.perSensor,
  inFlight: shape.inFlight,
  durationMs: M.durationMs,
  sites: 100,
  prefix,
  seed: 1,
  answerTimeoutMs: M.answerTimeoutMs
})

const problems = (s: RecorderSummary): string =>
  [...Object.entries(s.errors), ...Object.entries(s.rejected)].map(([k, v]) => `${k} x${v}`).join(", ") || "none"

const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1))
const n = (x: number) => Math.round(x).toLocaleString("en-US")

/**
 * The same fleet against bench/bare-mqtt-consumer.ts (answers at once, stores nothing) in place of
 * the node: what the load generator and the broker carry on this machine, the MQTT ceiling.
 */
const bareConsumerLimit = async (broker: Broker, shape: (typeof M.shapes)[number], log: (l: string) => void): Promise<number> => {
  const port = await freePort()
  const env = childEnv({ PORT: String(port), MQTT_URL: broker.url, MQTT_TOPIC_PREFIX: BARE_PREFIX, MQTT_RECEIVE_MAXIMUM: M.receiveMaximum ?? "256" })
  const child = spawnChild("bare mqtt consumer", ["--import", "tsx", "bench/bare-mqtt-consumer.ts"], env, ROOT)
  try {
    await waitForOk(`http://127.0.0.1:${port}/`, child, 30_000)
    const fleet = await connectFleet(fleetOptions(broker, shape, `bare${shape.perMessage}-`, BARE_PREFIX))
    try {
      await fleet.run(M.warmupMs, "bare warm-up", true)
      const { result, cpu } = await withCpu(child.pid, os.cpus().length, () => fleet.run(M.durationMs, `bare consumer ${shape.perMessage}/msg`))
      const perSec = (result[0].durableReadings * 1000) / result[0].elapsedMs
      log(`    bare consumer, ${shape.perMessage}/msg: ${n(perSec)} readings/s (CPU consumer ${cpu.child.toFixed(2)} bench ${cpu.bench.toFixed(2)} else ${cpu.else.toFixed(2)})`)
      return perSec
    } finally {
      await fleet.close()
    }
  } finally {
    await child.stop(10_000)
  }
}

const shapeRow = async (
  target: NodeTarget,
  broker: Broker,
  shape: (typeof M.shapes)[number],
  bare: number,
  bareConsumer: number,
  log: (l: string) => void
): Promise<MqttShapeRow> => {
  const o = fleetOptions(broker, shape, `mqtt${shape.perMessage}-`)
  const fleet = await connectFleet(o)
  try {
    await fleet.run(M.warmupMs, "warm-up", true)
    await settle(target.origin)
    const { result, cpu } = await withCpu(target.child.pid, os.cpus().length, () => fleet.run(M.durationMs, `mqtt ${shape.perMessage}/msg`))
    const [verdict, puback] = result
    const readingsPerSec = (verdict.durableReadings * 1000) / verdict.elapsedMs
    const row = {
      perMessage: shape.perMessage,
      inFlight: shape.inFlight,
      sensors: fleetSensors(o),
      readingsPerSec,
      ratioToBareInsert: readingsPerSec / bare,
      bareConsumerReadingsPerSec: bareConsumer,
      ratioToBareConsumer: readingsPerSec / bareConsumer,
      verdict,
      puback,
      cpu
    }
    log(
      `    ${shape.perMessage}/msg, ${M.devices} devices x ${shape.inFlight} in flight: ${n(readingsPerSec)} readings/s durable (${row.ratioToBareInsert.toFixed(2)}x bare insert, ${row.ratioToBareConsumer.toFixed(2)}x bare consumer), ` +
        `publish->PUBACK p50/p99 ${ms(puback.latencyMs.p50)}/${ms(puback.latencyMs.p99)} ms, publish->verdict p50/p99 ${ms(verdict.latencyMs.p50)}/${ms(verdict.latencyMs.p99)} ms, ` +
        `CPU node ${cpu.child.toFixed(2)} pg ${cpu.postgres.toFixed(2)} bench ${cpu.bench.toFixed(2)} else ${cpu.else.toFixed(2)}, problems: ${problems(verdict)}`
    )
    return row
  } finally {
    await fleet.close()
  }
}

const storedUnder = async (dbUrl: string, prefix: string) =>
  queryOne(
    dbUrl,
    `select count(*)::int8 as stored,
            (select count(*) from (select 1 from readings r join sensors s on s.key = r.sensor_key
              where starts_with(s.id, $1) group by r.sensor_key, r.ts having count(*) > 1) d)::int8 as duplicates
     from readings where sensor_key in (select key from sensors where starts_with(id, $1))`,
    [prefix]
  )

/** Kill -9 mid-run, restart under the same MQTT_CLIENT_ID, finish, and count. */
const zeroLoss = async (broker: Broker, log: (l: string) => void): Promise<MqttZeroLoss> => {
  const db = `flowmesh_bench_mqtt_kill_${Date.now()}`
  await withClient(ADMIN_URL, (c) => c.query(`create database ${db}`))
  const dbUrl = `postgres://postgres@127.0.0.1:5432/${db}`
  const env = { ...nodeEnv(broker, "bench-kill"), DATABASE_URL: dbUrl }
  const prefix = "mqttkill-"
  let node = await startNode("external", env)
  try {
    const fleet = await connectFleet({ ...fleetOptions(broker, M.shapes[0], prefix), durationMs: M.killRunMs })
    try {
      const running = fleet.run(M.killRunMs, "zero-loss")
      await sleep(M.killAfterMs)
      process.kill(node.child.pid, "SIGKILL")
      while (!node.child.exited()) await sleep(20)
      const killedAt = performance.now()
      log(`    SIGKILL to the node after ${(M.killAfterMs / 1000).toFixed(0)} s (${n(fleet.totals.pubackedReadings)} readings PUBACKed so far); restarting under the same MQTT_CLIENT_ID`)
      node = await startNode("external", env)
      const restartMs = performance.now() - killedAt
      const [verdict] = await running
      // Every message is answered; redeliveries the node had answered before the kill may still come back as duplicates.
      let last = -1
      let count = await storedUnder(dbUrl, prefix)
      while (Number(count.stored) !== last) {
        last = Number(count.stored)
        await sleep(M.quietMs)
        count = await storedUnder(dbUrl, prefix)
      }
      const t = fleet.totals
      const stored = Number(count.stored)
      const result: MqttZeroLoss = {
        pubackedReadings: t.pubackedReadings,
        durableReadings: t.durableReadings,
        stored,
        missing: Math.max(0, t.pubackedReadings - stored),
        duplicates: Number(count.duplicates),
        redeliveredDuplicates: verdict.rejected.duplicate ?? 0,
        lateVerdicts: t.lateVerdicts,
        unanswered: verdict.errors.unanswered ?? 0,
        restartMs
      }
      log(
        `    zero loss: ${n(result.pubackedReadings)} readings PUBACKed, ${n(stored)} stored, missing ${result.missing}, stored twice ${result.duplicates}, ` +
          `extra ${Math.max(0, stored - result.pubackedReadings)}; node back in ${(restartMs / 1000).toFixed(1)} s; ${n(result.redeliveredDuplicates)} redelivered readings answered duplicate, ` +
          `${result.lateVerdicts} late verdicts, ${result.unanswered} unanswered; verdict problems: ${problems(verdict)}`
      )
      return result
    } finally {
      await fleet.close()
    }
  } finally {
    await node.child.stop(SETTINGS.node.stopTimeoutMs)
    await withClient(ADMIN_URL, (c) => c.query(`drop database if exists ${db} with (force)`))
  }
}

export const runMqttPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<MqttRun> => {
  const broker = await startBroker()
  try {
    const bareConsumer: Array<number> = []
    for (const shape of M.shapes) bareConsumer.push(await bareConsumerLimit(broker, shape, log))
    const env = nodeEnv(broker, `bench-${process.pid}`)
    const target = await startTarget("external", env)
    track(target)
    const shapes: Array<MqttShapeRow> = []
    let bare = Number.NaN
    try {
      log(`  node env: ${Object.entries(env).filter(([k]) => k !== "MQTT_URL").map(([k, v]) => `${k}=${v}`).join(" ")} (MQTT_CONNECTIONS / MQTT_RECEIVE_MAXIMUM: the node's defaults unless shown)`)
      const insert = await bareInsertLimit(target.dbUrl)
      bare = insert.bestRowsPerSec
      log(`    bare insert: ${insert.runs.map((r) => `${r.connections} conn ${n(r.rowsPerSec)} rows/s`).join(", ")} (same run, node's database)`)
      for (const [i, shape] of M.shapes.entries()) shapes.push(await shapeRow(target, broker, shape, bare, bareConsumer[i]!, log))
    } finally {
      track(null)
      await target.stop()
    }
    const loss = await zeroLoss(broker, log)
    return { nodeEnv: env, bareInsertRowsPerSec: bare, shapes, zeroLoss: loss }
  } finally {
    await broker.stop()
  }
}

export const mqttGoals = (run: MqttRun | null) => {
  if (run === null) return []
  const at = (perMessage: number) => run.shapes.find((s) => s.perMessage === perMessage)
  const goal = (perMessage: number, target: number) => {
    const row = at(perMessage)
    return {
      goal: `MQTT QoS 1, ${perMessage} reading${perMessage === 1 ? "" : "s"}/message, ${M.devices} devices, durable readings/s`,
      target: `>= ${n(target)}`,
      measured:
        row === undefined
          ? "-"
          : `${n(row.readingsPerSec)} (${row.ratioToBareInsert.toFixed(2)}x bare insert, ${row.ratioToBareConsumer.toFixed(2)}x bare consumer at ${n(row.bareConsumerReadingsPerSec)})`,
      pass: row !== undefined && row.readingsPerSec >= target && Object.keys(row.verdict.errors).length === 0
    }
  }
  const z = run.zeroLoss
  return [
    goal(100, SETTINGS.goals.mqtt100PerMessage),
    goal(1, SETTINGS.goals.mqtt1PerMessage),
    {
      goal: "MQTT node SIGKILLed mid-run and restarted: every PUBACKed reading stored exactly once",
      target: "missing 0, twice 0",
      measured: z === null ? "-" : `missing ${z.missing}, twice ${z.duplicates}, of ${n(z.pubackedReadings)}`,
      pass: z !== null && z.missing === 0 && z.duplicates === 0 && z.stored === z.pubackedReadings
    }
  ]
}

export const mqttTable = (run: MqttRun): { readonly headers: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => ({
  headers: ["MQTT QoS 1", "devices x in flight", "readings/s durable", "/ bare insert", "bare consumer", "/ bare consumer", "PUBACK p50 / p99 ms", "verdict p50 / p99 ms", "node / pg / bench / else CPU", "problems"],
  rows: run.shapes.map((s) => [
    `${s.perMessage}/message`,
    `${M.devices} x ${s.inFlight}`,
    n(s.readingsPerSec),
    `${s.ratioToBareInsert.toFixed(2)}x`,
    n(s.bareConsumerReadingsPerSec),
    `${s.ratioToBareConsumer.toFixed(2)}x`,
    `${ms(s.puback.latencyMs.p50)} / ${ms(s.puback.latencyMs.p99)}`,
    `${ms(s.verdict.latencyMs.p50)} / ${ms(s.verdict.latencyMs.p99)}`,
    [s.cpu.child, s.cpu.postgres, s.cpu.bench, s.cpu.else].map((c) => c.toFixed(2)).join(" / "),
    problems(s.verdict)
  ])
})
