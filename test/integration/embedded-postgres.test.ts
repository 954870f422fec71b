import { Reactivity } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Redacted } from "effect"
import { startEmbeddedPostgres } from "../../src/storage/embedded-postgres.js"
import { awaitExit } from "../../src/storage/embedded-postgres-process.js"

const projectRoot = fileURLToPath(new URL("../..", import.meta.url))
const fixture = fileURLToPath(new URL("./fixtures/embedded-postgres-child.ts", import.meta.url))

const tempDirs: Array<string> = []
const freshDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowmesh-epg-"))
  tempDirs.push(dir)
  return dir
}

/** PostgreSQL processes (postmaster or children) still running for `dir`. */
const postgresProcessesFor = (dir: string) =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes("postgres") && line.includes(path.join(dir, "pg")))

const query = <A>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, unknown>) =>
  Effect.gen(function* () {
    const sql = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 1 })
    return yield* f(sql)
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))

const postmasterPid = (dir: string) =>
  Number.parseInt(fs.readFileSync(path.join(dir, "pg", "postmaster.pid"), "utf8").split("\n")[0] ?? "", 10)

/** Runs the fixture in a child node and resolves once it printed the server's port. */
const startChild = (dir: string) =>
  Effect.async<{ readonly child: ChildProcess; readonly port: number; readonly reused: boolean }, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", fixture, dir], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let settled = false
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
      const ready = /READY (\d+) (true|false)/.exec(stdout)
      if (ready !== null && !settled) {
        settled = true
        resume(Effect.succeed({ child, port: Number(ready[1]), reused: ready[2] === "true" }))
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    child.on("exit", (code) => {
      if (!settled) {
        settled = true
        resume(Effect.fail(new Error(`child exited with ${code}: ${stderr}`)))
      }
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const sigkill = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

const timed = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const result = yield* effect
    console.info(`[embedded-postgres] ${label}: ${Date.now() - started} ms`)
    return result
  })

afterAll(() => {
  for (const dir of tempDirs) {
    expect(postgresProcessesFor(dir)).toEqual([])
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

describe("startEmbeddedPostgres", () => {
  it.live(
    "initializes a cluster on first start, stops with the scope and keeps the data for the next start",
    () =>
      Effect.gen(function* () {
        const dir = freshDir()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* timed("first start (initdb)", startEmbeddedPostgres({ dataDir: dir, database: "flowmesh_test" }))
            expect(pg.reused).toBe(false)
            expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/flowmesh_test`)
            yield* query(pg.url, (sql) =>
              Effect.gen(function* () {
                expect(yield* sql`SELECT 1 AS one`).toEqual([{ one: 1 }])
                yield* sql`CREATE TABLE readings (id int PRIMARY KEY, value double precision NOT NULL)`
                yield* sql`INSERT INTO readings VALUES (1, 21.5), (2, 22.25)`
                const settings = yield* sql<{ readonly setting: string }>`
                  SELECT setting FROM pg_settings
                  WHERE name IN ('fsync', 'synchronous_commit', 'listen_addresses') ORDER BY name`
                expect(settings.map((row) => row.setting)).toEqual(["on", "127.0.0.1", "on"])
              })
            )
          })
        )
        expect(fs.existsSync(path.join(dir, "pg", "postmaster.pid"))).toBe(false)
        expect(postgresProcessesFor(dir)).toEqual([])
        expect(fs.readFileSync(path.join(dir, "pg.log"), "utf8")).toContain("database system is shut down")

        yield* Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* timed("restart", startEmbeddedPostgres({ dataDir: dir, database: "flowmesh_test" }))
            expect(pg.reused).toBe(false)
            const rows = yield* query(pg.url, (sql) => sql`SELECT id, value FROM readings ORDER BY id`)
            expect(rows).toEqual([
              { id: 1, value: 21.5 },
              { id: 2, value: 22.25 }
            ])
          })
        )
        expect(postgresProcessesFor(dir)).toEqual([])
      }),
    120_000
  )

  it.live(
    "reuses the server a SIGKILLed node left running, then stops it",
    () =>
      Effect.gen(function* () {
        const dir = freshDir()
        const { child, port } = yield* startChild(dir)
        const childUrl = `postgres://postgres@127.0.0.1:${port}/child`
        yield* query(childUrl, (sql) => sql`CREATE TABLE kept AS SELECT 42 AS answer`)
        yield* sigkill(child)
        expect(postgresProcessesFor(dir)).not.toEqual([])

        yield* Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* timed("take over leftover server", startEmbeddedPostgres({ dataDir: dir, database: "child" }))
            expect(pg).toEqual({ url: childUrl, port, reused: true })
            expect(yield* query(pg.url, (sql) => sql`SELECT answer FROM kept`)).toEqual([{ answer: 42 }])
          })
        )
        expect(fs.existsSync(path.join(dir, "pg", "postmaster.pid"))).toBe(false)
        expect(postgresProcessesFor(dir)).toEqual([])
      }),
    120_000
  )

  it.live(
    "starts normally over a stale postmaster.pid (dead PID, or a PID now owned by another process)",
    () =>
      Effect.gen(function* () {
        const dir = freshDir()
        const { child, port } = yield* startChild(dir)
        yield* query(`postgres://postgres@127.0.0.1:${port}/child`, (sql) => sql`CREATE TABLE kept AS SELECT 7 AS answer`)
        const pid = postmasterPid(dir)
        yield* sigkill(child)
        process.kill(pid, "SIGKILL")
        expect(yield* awaitExit(pid, "10 seconds")).toBe(true)
        expect(fs.existsSync(path.join(dir, "pg", "postmaster.pid"))).toBe(true)

        yield* Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* timed("start after postmaster crash", startEmbeddedPostgres({ dataDir: dir, database: "child" }))
            expect(pg.reused).toBe(false)
            expect(yield* query(pg.url, (sql) => sql`SELECT answer FROM kept`)).toEqual([{ answer: 7 }])
          })
        )

        // A pid file naming a live process that is not our postmaster (PID reuse after a reboot).
        const stranger = spawn("sleep", ["60"], { stdio: "ignore" })
        const pidFile = path.join(dir, "pg", "postmaster.pid")
        fs.writeFileSync(pidFile, `${stranger.pid}\n${path.join(dir, "pg")}\n1\n${port}\n\n127.0.0.1\n 0 0\nready   \n`)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pg = yield* startEmbeddedPostgres({ dataDir: dir, database: "child" })
            expect(pg.reused).toBe(false)
            expect(yield* query(pg.url, (sql) => sql`SELECT answer FROM kept`)).toEqual([{ answer: 7 }])
          })
        ).pipe(Effect.ensuring(sigkill(stranger)))
        expect(postgresProcessesFor(dir)).toEqual([])
      }),
    120_000
  )
})
