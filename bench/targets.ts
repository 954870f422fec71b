/**
 * The systems under test: a flowmesh node (`node --import tsx src/main.ts`, as a user runs it) on
 * - "external": the machine's PostgreSQL, in a fresh scratch database created and dropped via `test`;
 * - "embedded": its own embedded PostgreSQL in a fresh temporary DATA_DIR, removed afterwards.
 * Plus small SQL helpers against the target's database.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { type Child, type ExitInfo, freePort, spawnChild, waitForOk } from "./child.js"
import { SETTINGS, type TargetName } from "./settings.js"

export const ROOT = fileURLToPath(new URL("..", import.meta.url))
export const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"

export const withClient = async <A>(url: string, f: (c: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export const queryOne = async (url: string, text: string, params: ReadonlyArray<unknown> = []): Promise<Record<string, unknown>> =>
  withClient(url, async (c) => {
    const r = await c.query(text, [...params])
    const row: unknown = r.rows[0]
    return typeof row === "object" && row !== null ? Object.fromEntries(Object.entries(row)) : {}
  })

export const serverVersion = async (url: string): Promise<string> =>
  String((await queryOne(url, "select current_setting('server_version') as v")).v ?? "?")

/** Environment for a child: ours, minus every flowmesh setting, plus `extra`. */
export const childEnv = (extra: Record<string, string>): Record<string, string> => {
  const out: Record<string, string> = {}
  const drop = new Set(["DATABASE_URL", "DATA_DIR", "PORT", "HOST", "LOG_LEVEL", "LOG_FORMAT", "ACK_MODE"])
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !drop.has(k)) out[k] = v
  return { ...out, ...extra }
}

export interface NodeTarget {
  readonly name: TargetName
  readonly description: string
  readonly origin: string
  /** The node's database, for the bare insert and the count check. */
  readonly dbUrl: string
  readonly pgVersion: string
  readonly readyMs: number
  readonly child: Child
  /** SIGTERM, await exit (drain), then drop the scratch database / remove the data dir. */
  readonly stop: () => Promise<ExitInfo>
}

/** A node on `env`'s database (DATABASE_URL or DATA_DIR), without a scratch database of its own: for a phase that restarts it. */
export const startNode = async (
  name: TargetName,
  env: Record<string, string>
): Promise<{ child: Child; origin: string; readyMs: number }> => {
  const port = await freePort()
  const child = spawnChild(
    `flowmesh node (${name})`,
    ["--max-semi-space-size=64", "--import", "tsx", "src/main.ts"],
    // One load generator stands for many devices behind one address and, with AUTH_MODE=required,
    // one key: the per-address and per-key limits (1,000 and 500 requests/s by default) would refuse
    // its load with 429 (the key limit capped the authentication row at 62,000 readings/s once the
    // node got faster). They stay on (their checks are part of the cost measured) at a bound the
    // bench never reaches; an explicit setting in the environment wins.
    childEnv({
      RATE_LIMIT_IP_PER_SECOND: process.env.RATE_LIMIT_IP_PER_SECOND ?? "1000000",
      RATE_LIMIT_IP_BURST: process.env.RATE_LIMIT_IP_BURST ?? "1000000",
      RATE_LIMIT_KEY_PER_SECOND: process.env.RATE_LIMIT_KEY_PER_SECOND ?? "1000000",
      RATE_LIMIT_KEY_BURST: process.env.RATE_LIMIT_KEY_BURST ?? "1000000",
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warning"
    }),
    ROOT
  )
  const origin = `http://127.0.0.1:${port}`
  try {
    const readyMs = await waitForOk(`${origin}/ready`, child, SETTINGS.node.readyTimeoutMs)
    return { child, origin, readyMs }
  } catch (e) {
    await child.stop(SETTINGS.node.stopTimeoutMs)
    throw e
  }
}

const describe = async (
  name: TargetName,
  description: string,
  started: Awaited<ReturnType<typeof startNode>>,
  dbUrl: string,
  stop: NodeTarget["stop"]
): Promise<NodeTarget> => ({
  name,
  description,
  origin: started.origin,
  dbUrl,
  pgVersion: await serverVersion(dbUrl),
  readyMs: started.readyMs,
  child: started.child,
  stop
})

const startExternal = async (env: Record<string, string>): Promise<NodeTarget> => {
  const db = `flowmesh_bench_${Date.now()}`
  await withClient(ADMIN_URL, (c) => c.query(`create database ${db}`))
  const dbUrl = `postgres://postgres@127.0.0.1:5432/${db}`
  const drop = () => withClient(ADMIN_URL, (c) => c.query(`drop database if exists ${db} with (force)`)).then(() => undefined)
  try {
    const started = await startNode("external", { ...env, DATABASE_URL: dbUrl })
    return await describe("external", `machine PostgreSQL, scratch database ${db}`, started, dbUrl, async () => {
      try {
        return await started.child.stop(SETTINGS.node.stopTimeoutMs)
      } finally {
        await drop()
      }
    })
  } catch (e) {
    await drop()
    throw e
  }
}

/** The embedded server's port, from line 4 of its postmaster.pid. */
const embeddedPort = async (dataDir: string): Promise<{ port: number; pid: number }> => {
  const lines = (await fs.readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in ${dataDir}/pg/postmaster.pid`)
  return { port, pid }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Fast shutdown (SIGINT) of the embedded postmaster our killed node left behind; waits up to 15 s. */
const stopLeftoverPostgres = async (pid: number): Promise<void> => {
  if (!isAlive(pid)) return
  process.kill(pid, "SIGINT")
  for (let i = 0; i < 150 && isAlive(pid); i++) await sleep(100)
}

const startEmbedded = async (env: Record<string, string>): Promise<NodeTarget> => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "flowmesh-bench-"))
  const remove = () => fs.rm(dataDir, { recursive: true, force: true })
  try {
    const started = await startNode("embedded", { ...env, DATA_DIR: dataDir })
    const { port, pid } = await embeddedPort(dataDir)
    const dbUrl = `postgres://postgres@127.0.0.1:${port}/flowmesh`
    return await describe("embedded", `embedded PostgreSQL started by the node, DATA_DIR ${dataDir}`, started, dbUrl, async () => {
      try {
        const info = await started.child.stop(SETTINGS.node.stopTimeoutMs)
        // A node killed after the timeout leaves its PostgreSQL running: fast shutdown of that one.
        if (info.killed) await stopLeftoverPostgres(pid)
        return info
      } finally {
        await remove()
      }
    })
  } catch (e) {
    await remove()
    throw e
  }
}

/** Starts a node on the named database; `env` adds node settings (e.g. COALESCE_WINDOW_MS). */
export const startTarget = (name: TargetName, env: Record<string, string> = {}): Promise<NodeTarget> =>
  name === "external" ? startExternal(env) : startEmbedded(env)
