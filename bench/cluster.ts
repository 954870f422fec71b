/**
 * `npm run bench:cluster`: the cost of cross-node routing. One node, then three nodes on this
 * machine (same scratch database, fresh each time), the same WebSocket device load (1,000 devices,
 * one sensor each, 10 readings per frame, 4 frames in flight; devices spread over the edges).
 * Prints readings/s persisted and ack p99 for both, their ratio (goal >= 0.6: on two cores three
 * nodes cannot be faster), then SIGKILLs one of the three and measures how long until every
 * sensor answers again on the survivors. Checks stored = acknowledged durable.
 */
import { type Child, freePort, spawnChild, terminateAll, waitForOk } from "./child.js"
import { ADMIN_URL, childEnv, queryOne, ROOT, withClient } from "./targets.js"
import { liftThrottle, sensorIds } from "./ws-phases.js"
import { closedLoopDevices, connectDevices, type DeviceFleet } from "./ws-load.js"

const SENSORS = 1_000
const WARMUP_MS = 3_000
const DURATION_MS = 8_000
const log = (line: string) => console.log(line)

interface ClusterNode {
  readonly child: Child
  readonly origin: string
}

const startNodes = async (dbUrl: string, count: number): Promise<Array<ClusterNode>> =>
  Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const [port, runnerPort] = [await freePort(), await freePort()]
      const env = { DATABASE_URL: dbUrl, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warning", RUNNER_HOST: "127.0.0.1", RUNNER_PORT: String(runnerPort) }
      const child = spawnChild(`node ${i + 1}/${count}`, ["--max-semi-space-size=64", "--import", "tsx", "src/main.ts"], childEnv(env), ROOT)
      const origin = `http://127.0.0.1:${port}`
      await waitForOk(`${origin}/ready`, child, 90_000)
      return { child, origin }
    })
  )

const sensors = (prefix: string) => sensorIds(prefix, SENSORS)

/** Devices spread round-robin over the nodes' edges. */
const fleetOver = async (nodes: ReadonlyArray<ClusterNode>, ids: ReadonlyArray<string>): Promise<DeviceFleet> => {
  const fleets = await Promise.all(
    nodes.map((n, k) => connectDevices(`${n.origin.replace("http", "ws")}/ws/devices?ack=durable`, ids.filter((_, i) => i % nodes.length === k), 10))
  )
  return {
    devices: fleets.flatMap((f) => f.devices),
    close: () => {
      for (const f of fleets) f.close()
    }
  }
}

const measure = async (label: string, nodes: ReadonlyArray<ClusterNode>, dbUrl: string, prefix: string) => {
  const ids = sensors(prefix)
  await liftThrottle(nodes[0]!.origin, ids)
  const fleet = await fleetOver(nodes, ids)
  const { tally, elapsedMs } = await closedLoopDevices(fleet, 4, WARMUP_MS, DURATION_MS)
  fleet.close()
  const stored = Number((await queryOne(dbUrl, "select count(*)::int8 as n from readings where sensor_key in (select key from sensors where starts_with(id, $1))", [prefix])).n)
  const rate = (tally.acceptedDurable * 1000) / elapsedMs
  log(`  ${label}: ${Math.round(rate).toLocaleString("en-US")} readings/s durable, ack p99 ${tally.latency.quantile(0.99).toFixed(1)} ms; acknowledged ${tally.allDurable.toLocaleString("en-US")}, stored ${stored.toLocaleString("en-US")}`)
  if (stored < tally.allDurable) throw new Error(`${tally.allDurable - stored} durably acknowledged readings are missing`)
  return rate
}

/** Rounds of one reading per sensor through the survivors until every sensor answers 202. */
const recoveryAfterKill = async (victim: ClusterNode, survivors: ReadonlyArray<ClusterNode>, prefix: string): Promise<number> => {
  const ids = sensors(prefix)
  process.kill(victim.child.pid, "SIGKILL")
  const killedAt = performance.now()
  const pending = new Set(ids)
  for (let ts = Date.now(); pending.size > 0 && performance.now() - killedAt < 60_000; ts++) {
    await Promise.all(
      Array.from(pending, async (sensor, i) => {
        const origin = survivors[i % survivors.length]!.origin
        const r = await fetch(`${origin}/api/v1/readings?ack=durable`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ readings: [{ sensor, ts, value: 1 }] }),
          signal: AbortSignal.timeout(5_000)
        }).catch(() => null)
        if (r?.status === 202) pending.delete(sensor)
        await r?.arrayBuffer()
      })
    )
  }
  if (pending.size > 0) throw new Error(`${pending.size} sensors still unanswered 60 s after the SIGKILL`)
  return performance.now() - killedAt
}

const main = async () => {
  const db = `flowmesh_bench_cluster_${Date.now()}`
  const dbUrl = `postgres://postgres@127.0.0.1:5432/${db}`
  const fresh = async () => {
    await withClient(ADMIN_URL, (c) => c.query(`drop database if exists ${db} with (force)`))
    await withClient(ADMIN_URL, (c) => c.query(`create database ${db}`))
  }
  try {
    log(`flowmesh cluster bench: ${SENSORS} WebSocket devices, 10 readings per frame, 4 in flight, machine PostgreSQL`)
    await fresh()
    const one = await startNodes(dbUrl, 1)
    const single = await measure("1 node", one, dbUrl, "c1-")
    await Promise.all(one.map((n) => n.child.stop(40_000)))
    await fresh()
    const three = await startNodes(dbUrl, 3)
    const triple = await measure("3 nodes", three, dbUrl, "c3-")
    const ratio = triple / single
    log(`  3 nodes / 1 node: ${ratio.toFixed(2)}x (goal >= 0.60: ${ratio >= 0.6 ? "PASS" : "FAIL"}; all on the same 2 cores)`)
    const recovered = await recoveryAfterKill(three[1]!, [three[0]!, three[2]!], "c3-")
    log(`  SIGKILL of one of three: every sensor answered again ${(recovered / 1000).toFixed(1)} s later (goal < 10 s: ${recovered < 10_000 ? "PASS" : "FAIL"})`)
    await Promise.all([three[0]!, three[2]!].map((n) => n.child.stop(40_000)))
  } finally {
    terminateAll()
    await withClient(ADMIN_URL, (c) => c.query(`drop database if exists ${db} with (force)`))
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e))
    terminateAll()
    process.exit(1)
  }
)
