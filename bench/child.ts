/**
 * Child processes of the bench (flowmesh nodes, the bare HTTP server): spawned with their output
 * captured (last 64 KB, plus counts of warning/error log lines), stopped with SIGTERM and awaited,
 * SIGKILL only for our own child after a timeout. All children are remembered so that Ctrl-C or a
 * crash of the bench stops them too.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"

export interface ExitInfo {
  readonly code: number | null
  readonly signal: string | null
  readonly stopMs: number
  readonly killed: boolean
}

export interface Child {
  readonly pid: number
  readonly name: string
  readonly output: () => string
  /** Log lines at warning level or above, by level, and the first few distinct messages. */
  readonly logProblems: () => { readonly counts: Record<string, number>; readonly first: ReadonlyArray<string> }
  readonly exited: () => boolean
  /** How it ended, when it already did: "code 1" or "signal SIGTERM". */
  readonly exitStatus: () => string | null
  readonly stop: (timeoutMs: number) => Promise<ExitInfo>
}

const live = new Set<ChildProcess>()

/** Sends SIGTERM to every child still running (used on Ctrl-C / crash). */
export const terminateAll = (): void => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) c.kill("SIGTERM")
}

const LEVEL = /"logLevel":"(WARN|WARNING|ERROR|FATAL)"/
const MESSAGE = /"message":("(?:[^"\\]|\\.)*"|\[[^\]]*\])/

export const spawnChild = (name: string, args: ReadonlyArray<string>, env: Record<string, string>, cwd: string): Child => {
  const child = spawn(process.execPath, [...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
  if (child.pid === undefined) throw new Error(`${name}: could not spawn`)
  live.add(child)
  let output = ""
  let partial = ""
  const counts: Record<string, number> = {}
  const first: Array<string> = []
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString("utf8")
    output = (output + text).slice(-65_536)
    const lines = (partial + text).split("\n")
    partial = lines.pop() ?? ""
    for (const line of lines) {
      const level = LEVEL.exec(line)?.[1] ?? (/\b(Error|error|ERROR)\b/.test(line) && !line.startsWith("{") ? "STDERR" : undefined)
      if (level === undefined) continue
      counts[level] = (counts[level] ?? 0) + 1
      const msg = `${level}: ${(MESSAGE.exec(line)?.[1] ?? line).slice(0, 200)}`
      if (first.length < 8 && !first.includes(msg)) first.push(msg)
    }
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    })
  })
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null
  const stop = async (timeoutMs: number): Promise<ExitInfo> => {
    const t0 = performance.now()
    if (!exited()) child.kill("SIGTERM")
    const timedOut = Symbol("timeout")
    const result = await Promise.race([exit, sleep(timeoutMs, timedOut)])
    if (result !== timedOut) return { ...result, stopMs: performance.now() - t0, killed: false }
    child.kill("SIGKILL")
    const after = await Promise.race([exit, sleep(5_000, timedOut)])
    const info = after === timedOut ? { code: null, signal: "unknown" } : after
    return { ...info, stopMs: performance.now() - t0, killed: true }
  }
  return {
    pid: child.pid,
    name,
    output: () => output,
    logProblems: () => ({ counts: { ...counts }, first: [...first] }),
    exited,
    exitStatus: () => (child.signalCode !== null ? `signal ${child.signalCode}` : child.exitCode !== null ? `code ${child.exitCode}` : null),
    stop
  }
}

/** A free loopback port (bound then released; the child binds it right after). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))))
    })
  })

/** Polls `url` until it answers 200, the child exits, or the timeout passes. */
export const waitForOk = async (url: string, child: Child, timeoutMs: number): Promise<number> => {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    if (child.exited()) throw new Error(`${child.name} exited before it was ready:\n${child.output().slice(-4_000)}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await res.arrayBuffer()
      if (res.status === 200) return performance.now() - t0
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`${child.name} not ready at ${url} within ${timeoutMs} ms:\n${child.output().slice(-4_000)}`)
}
