/**
 * What authentication costs on the hot path: two nodes on the machine's PostgreSQL, one with
 * AUTH_MODE=none, one with AUTH_MODE=required where every request carries a device key. Both are
 * warmed up (every sensor activated, the key cached), then saturated in turns (none, required,
 * none, required, ...) so that drift on the machine hits both alike; the row compares the median
 * turn of each (single turns vary by +-10% on this shared VM), and, steadier, the readings each
 * node took per second of its own CPU. 100 readings per request (10 sensors x 10), ack=durable.
 */
import { BodyPool } from "./bodies.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, startTarget } from "./targets.js"
import { runTurns, type TurnSide } from "./turns.js"

export interface AuthRow {
  /** Median turn. */
  readonly noneReadingsPerSec: number
  readonly requiredReadingsPerSec: number
  /** required / none of the medians: the target is >= 0.9. */
  readonly ratio: number
  /** Readings per second of the node's own CPU, over all turns, required / none. */
  readonly cpuRatio: number
  readonly turns: number
  readonly errors: number
}

const PEPPER = "bench-pepper-bench-pepper-bench-pepper"
const ADMIN = "bench-admin-key-bench-admin-key-bench-admin"
const INGEST_PATH = "/api/v1/readings?ack=durable"

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
  const turns = SETTINGS.auth.turns
  const open = await startTarget("external", { AUTH_MODE: "none" })
  track(open)
  let closed: NodeTarget | null = null
  try {
    closed = await startTarget("external", { AUTH_MODE: "required", AUTH_PEPPER: PEPPER, AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN })
    track(closed)
    const key = await deviceKey(closed.origin)
    const sides: ReadonlyArray<TurnSide<"none" | "required">> = [
      { name: "none", target: open, endpoint: { origin: open.origin, path: INGEST_PATH }, bodies: new BodyPool(SETTINGS.body) },
      { name: "required", target: closed, endpoint: { origin: closed.origin, path: INGEST_PATH, headers: { "x-device-key": key } }, bodies: new BodyPool(SETTINGS.body) }
    ]
    const results = await runTurns(sides, turns, log, (name) => `AUTH_MODE=${name}`)
    const none = results.median.none
    const required = results.median.required
    const cpuRatio = results.perCpuSecond.required / results.perCpuSecond.none
    return { noneReadingsPerSec: none, requiredReadingsPerSec: required, ratio: required / none, cpuRatio, turns, errors: results.errors }
  } finally {
    track(null)
    await Promise.all([open.stop(), closed?.stop()])
  }
}
