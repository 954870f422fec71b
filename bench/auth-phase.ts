/**
 * What authentication costs on the hot path: two nodes on the machine's PostgreSQL, one with
 * AUTH_MODE=none, one with AUTH_MODE=required where every request carries a device key. Both are
 * warmed up (every sensor activated, the key cached), then saturated in turns (none, required,
 * none, required, ...) so that drift on the machine hits both alike; the row compares the median
 * turn of each (single turns vary by +-10% on this shared VM), and, steadier, the readings each
 * node took per second of its own CPU. 100 readings per request (10 sensors x 10), ack=durable.
 */
import * as os from "node:os"
import { BodyPool } from "./bodies.js"
import { withCpu } from "./cpu.js"
import { closedLoop, type Endpoint, readingsPerSec } from "./load-driver.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget } from "./targets.js"

export interface AuthRow {
  /** Median turn. */
  readonly noneReadingsPerSec: number
  readonly requiredReadingsPerSec: number
  /** required / none of the medians: the issue's target is >= 0.9. */
  readonly ratio: number
  /** Readings per second of the node's own CPU, over all turns, required / none. */
  readonly cpuRatio: number
  readonly turns: number
  readonly errors: number
}

const PEPPER = "bench-pepper-bench-pepper-bench-pepper"
const ADMIN = "bench-admin-key-bench-admin-key-bench-admin"
const INGEST_PATH = "/api/v1/readings?ack=durable"

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * A device key of a tenant other than the default one: the realistic deployment, and the dearer path
 * (every sensor id is mapped to its tenant's id inside the node).
 */
const deviceKey = async (origin: string): Promise<string> => {
  const headers = { "content-type": "application/json", authorization: `Bearer ${ADMIN}` }
  const tenant = await fetch(`${origin}/api/v1/tenants`, { method: "POST", headers, body: JSON.stringify({ id: "bench", name: "bench" }) })
  if (tenant.status !== 201 && tenant.status !== 409) throw new Error(`creating the bench tenant: ${tenant.status} ${await tenant.text()}`)
  const r = await fetch(`${origin}/api/v1/keys`, {
    method: "POST",
    headers,
    body: JSON.stringify({ kind: "device", name: "bench", tenant: "bench" })
  })
  const body: unknown = await r.json()
  if (r.status !== 201 || typeof body !== "object" || body === null || !("key" in body) || typeof body.key !== "string") {
    throw new Error(`creating a device key: ${r.status} ${JSON.stringify(body)}`)
  }
  return body.key
}

export const runAuthPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<AuthRow> => {
  const { concurrencies, durationMs, warmupMs, warmupMaxMs } = SETTINGS.node
  const concurrency = Math.max(...concurrencies)
  const turns = SETTINGS.auth.turns
  const open = await startTarget("external", { AUTH_MODE: "none" })
  track(open)
  let closed: NodeTarget | null = null
  try {
    closed = await startTarget("external", { AUTH_MODE: "required", AUTH_PEPPER: PEPPER, AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN })
    track(closed)
    const key = await deviceKey(closed.origin)
    const sides: ReadonlyArray<{ readonly name: "none" | "required"; readonly target: NodeTarget; readonly endpoint: Endpoint; readonly bodies: BodyPool }> = [
      { name: "none", target: open, endpoint: { origin: open.origin, path: INGEST_PATH }, bodies: new BodyPool(SETTINGS.body) },
      { name: "required", target: closed, endpoint: { origin: closed.origin, path: INGEST_PATH, headers: { "x-device-key": key } }, bodies: new BodyPool(SETTINGS.body) }
    ]
    for (const side of sides) {
      await closedLoop({
        label: `warm-up ${side.name}`,
        endpoint: side.endpoint,
        bodies: side.bodies,
        concurrency,
        stop: (t) => t >= warmupMs && side.bodies.groupsUsed() === side.bodies.groupCount,
        maxMs: warmupMaxMs
      })
    }
    const rates = { none: [] as Array<number>, required: [] as Array<number> }
    const readings = { none: 0, required: 0 }
    const cpuSeconds = { none: 0, required: 0 }
    let errors = 0
    for (let turn = 0; turn < turns; turn++) {
      for (const side of sides) {
        const m = await withCpu(side.target.child.pid, os.cpus().length, () =>
          closedLoop({ label: side.name, endpoint: side.endpoint, bodies: side.bodies, concurrency, stop: (t) => t >= durationMs, maxMs: durationMs + 5_000 })
        )
        const rate = readingsPerSec(m.result)
        const t = m.result.tally
        // Any answer but 202 is an error of this row: a refusal (401/403, or 429 from a limit) would
        // make one side look cheaper or dearer than it is.
        const refused = Object.entries(t.statuses).reduce((n, [status, count]) => (status === "202" ? n : n + count), 0)
        errors += Object.values(t.errors).reduce((a, b) => a + b, 0) + refused
        rates[side.name].push(rate)
        readings[side.name] += t.acceptedDurable
        cpuSeconds[side.name] += (m.cpu.child * m.result.elapsedMs) / 1000
        log(`    turn ${turn + 1}, AUTH_MODE=${side.name}: ${Math.round(rate).toLocaleString("en-US")} readings/s durable, node CPU ${m.cpu.child.toFixed(2)} cores${refused > 0 ? `, ${refused} answers not 202` : ""}`)
      }
    }
    const none = median(rates.none)
    const required = median(rates.required)
    const cpuRatio = readings.required / cpuSeconds.required / (readings.none / cpuSeconds.none)
    return { noneReadingsPerSec: none, requiredReadingsPerSec: required, ratio: required / none, cpuRatio, turns, errors }
  } finally {
    track(null)
    await Promise.all([open.stop(), closed?.stop()])
  }
}
