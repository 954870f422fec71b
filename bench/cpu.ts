/**
 * Where the cores went during a phase, from /proc: the bench process itself (load generator), the
 * child under test, every `postgres` process, and everything else on the machine (which should be
 * ~0: if not, something else competed with the bench). Values are in cores (1.0 = one core busy).
 * Linux only; elsewhere the numbers are NaN.
 */
import { readdirSync, readFileSync } from "node:fs"
import type { PhaseResult } from "./load-driver.js"
import type { LoopDelay } from "./loop-delay.js"

const TICK_MS = 10 // USER_HZ is 100 on Linux

export interface MeasuredPhase {
  readonly phase: PhaseResult
  readonly cpu: CpuShare
  /** The node's event-loop delay over the phase (absent where the bench measured no node). */
  readonly loop?: LoopDelay | null
}

export interface CpuShare {
  readonly bench: number
  readonly child: number
  readonly postgres: number
  readonly else: number
  readonly idle: number
  /** The biggest consumers inside `else` that were still running at the end, e.g. "node 0.61". */
  readonly elseTop: ReadonlyArray<string>
}

interface ProcTicks {
  readonly comm: string
  readonly ms: number
}

interface Snapshot {
  readonly at: number
  readonly busyMs: number
  readonly procs: ReadonlyMap<number, ProcTicks>
}

const readProc = (pid: number): ProcTicks | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = stat.lastIndexOf(")")
    const comm = stat.slice(stat.indexOf("(") + 1, close)
    // After ") ": state is field 3 of the line; utime is field 14 and stime field 15.
    const fields = stat.slice(close + 2).split(" ")
    return { comm, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS }
  } catch {
    return undefined
  }
}

const machineBusyMs = (): number => {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? ""
    const n = line.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    return ((n[0] ?? 0) + (n[1] ?? 0) + (n[2] ?? 0) + (n[5] ?? 0) + (n[6] ?? 0) + (n[7] ?? 0)) * TICK_MS
  } catch {
    return Number.NaN
  }
}

const snap = (): Snapshot => {
  const procs = new Map<number, ProcTicks>()
  let pids: Array<string> = []
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d))
  } catch {
    // not Linux
  }
  for (const p of pids) {
    const t = readProc(Number(p))
    if (t !== undefined) procs.set(Number(p), t)
  }
  return { at: performance.now(), busyMs: machineBusyMs(), procs }
}

/** Starts measuring; the returned function ends it. */
export const measureCpu = (childPid: number | null, cores: number): (() => CpuShare) => {
  const a = snap()
  return () => {
    const b = snap()
    const wall = b.at - a.at
    let child = 0
    let postgres = 0
    let bench = 0
    const others = new Map<string, number>()
    for (const [pid, t] of b.procs) {
      const before = a.procs.get(pid)
      // A pid reused by another program counts from zero.
      const used = t.ms - (before !== undefined && before.comm === t.comm ? before.ms : 0)
      if (pid === process.pid) bench += used
      else if (pid === childPid) child += used
      else if (t.comm === "postgres") postgres += used
      else if (used > 0) others.set(`${t.comm}[${pid}]`, (others.get(`${t.comm}[${pid}]`) ?? 0) + used)
    }
    const busy = b.busyMs - a.busyMs
    const round = (x: number) => Math.round((x / wall) * 100) / 100
    return {
      bench: round(bench),
      child: round(child),
      postgres: round(postgres),
      else: round(Math.max(0, busy - bench - child - postgres)),
      idle: round(Math.max(0, cores * wall - busy)),
      elseTop: Array.from(others)
        .filter(([, used]) => used / wall >= 0.05)
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([name, used]) => `${name} ${round(used).toFixed(2)}`)
    }
  }
}

/** Runs `f` and reports the CPU split over it. */
export const withCpu = async <A>(childPid: number | null, cores: number, f: () => Promise<A>): Promise<{ result: A; cpu: CpuShare }> => {
  const end = measureCpu(childPid, cores)
  const result = await f()
  return { result, cpu: end() }
}
