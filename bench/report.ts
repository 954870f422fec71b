/**
 * The bench's output: one summary table (a row per target), a per-phase detail table with the CPU
 * split, the durability check, the goals as PASS/FAIL, and the whole run as JSON under
 * bench/results/.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { ExitInfo } from "./child.js"
import type { CpuShare } from "./cpu.js"
import type { LoopDelay } from "./loop-delay.js"
import type { BareHttpResult } from "./limits.js"
import { type PhaseResult, readingsPerSec, requestsPerSec } from "./load-driver.js"
import type { NodeRun } from "./node-phases.js"
import { SETTINGS, type TargetName } from "./settings.js"
import { problemCount, summarize, type Tally } from "./tally.js"

export interface Machine {
  readonly cpuModel: string
  readonly cores: number
  readonly node: string
  readonly platform: string
  readonly loadAvgAtStart: ReadonlyArray<number>
}

export interface TargetReport {
  readonly name: TargetName
  readonly description: string
  readonly pgVersion: string
  readonly readyMs: number
  readonly run: NodeRun | null
  readonly error: string | null
  readonly stop: ExitInfo | null
  readonly nodeLog: { readonly counts: Record<string, number>; readonly first: ReadonlyArray<string> }
}

export interface Goal {
  readonly goal: string
  readonly target: string
  readonly measured: string
  readonly pass: boolean
}

export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-")
export const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : "-")
export const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "-")

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

const problems = (t: Tally, unsent = 0): string => {
  const parts = [
    ...Object.entries(t.statuses).map(([k, v]) => `${k}x${v}`),
    ...Object.entries(t.errors).map(([k, v]) => `${k}x${v}`),
    ...(t.unreadable > 0 ? [`unreadable x${t.unreadable}`] : []),
    ...(unsent > 0 ? [`unsent x${unsent}`] : [])
  ]
  return parts.length === 0 ? "0" : parts.join(" ")
}

export const summaryRows = (targets: ReadonlyArray<TargetReport>, bareHttp: BareHttpResult | null) =>
  targets.map((t) => {
    if (t.run === null) return [t.name, t.pgVersion, "FAILED", "", "", "", "", "", "", "", t.error?.slice(0, 60) ?? ""]
    const node = readingsPerSec(t.run.best)
    const bare = t.run.bareInsert.bestRowsPerSec
    const lat = summarize(t.run.halfPeak.phase.tally.latenciesMs)
    const half = t.run.halfPeak.phase
    return [
      t.name,
      t.pgVersion,
      int(bare),
      `${int(node)} (c=${t.run.best.concurrency ?? "?"})`,
      ratio(node / bare),
      bareHttp === null ? "-" : ratio(node / bareHttp.bestReadingsPerSec),
      ms(lat.p50),
      ms(lat.p95),
      ms(lat.p99),
      ms(lat.max),
      problems(half.tally, half.unsent)
    ]
  })

export const SUMMARY_HEADERS = [
  "target",
  "PG",
  "bare insert rows/s",
  "node readings/s",
  "node/insert",
  "node/bare-HTTP",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "errors@half"
]

const cpuText = (c: CpuShare): string => [c.bench, c.child, c.postgres, c.else, c.idle].map((x) => x.toFixed(2)).join("/")

const loopText = (loop: LoopDelay | null | undefined): string =>
  loop === null || loop === undefined ? "-" : `${ms(loop.p99Ms)}/${Number.isFinite(loop.maxMs) ? int(loop.maxMs) : ">10000"}`

const phaseRow = (target: string, p: PhaseResult, cpu: CpuShare | null, loop?: LoopDelay | null): Array<string> => {
  const lat = summarize(p.tally.latenciesMs)
  return [
    target,
    p.label,
    p.targetRatePerSec === null ? int(requestsPerSec(p)) : `${int(requestsPerSec(p))} (of ${int(p.targetRatePerSec)})`,
    int(readingsPerSec(p)),
    ms(lat.p50),
    ms(lat.p99),
    problems(p.tally, p.unsent),
    Object.entries(p.tally.rejected)
      .map(([k, v]) => `${k}x${v}`)
      .join(" ") || "0",
    cpu === null ? "-" : cpuText(cpu),
    loopText(loop)
  ]
}

export const PHASE_HEADERS = ["target", "phase", "req/s", "readings/s", "p50 ms", "p99 ms", "non-202/errors", "rejected", "CPU bench/child/pg/else/idle", "loop p99/max ms"]

export const phaseRows = (targets: ReadonlyArray<TargetReport>, bareHttp: BareHttpResult | null): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  for (const r of bareHttp?.runs ?? []) rows.push(phaseRow("bare-http", r.phase, r.cpu))
  for (const t of targets) {
    if (t.run === null) continue
    for (const m of [t.run.warmup, ...t.run.saturation, t.run.halfPeak]) rows.push(phaseRow(t.name, m.phase, m.cpu, m.loop))
  }
  return rows
}

/** Phases during which something other than the bench, the child and PostgreSQL used > 0.3 cores. */
export const noisyPhases = (targets: ReadonlyArray<TargetReport>, bareHttp: BareHttpResult | null): Array<string> => {
  const out: Array<string> = []
  const check = (name: string, label: string, cpu: CpuShare) => {
    if (cpu.else > 0.3) out.push(`${name} ${label} (${cpu.else.toFixed(2)} cores${cpu.elseTop.length > 0 ? `: ${cpu.elseTop.join(", ")}` : ""})`)
  }
  for (const r of bareHttp?.runs ?? []) check("bare-http", r.phase.label, r.cpu)
  for (const t of targets) {
    if (t.run === null) continue
    for (const m of [t.run.warmup, ...t.run.saturation, t.run.halfPeak]) check(t.name, m.phase.label, m.cpu)
  }
  return out
}

export const goals = (targets: ReadonlyArray<TargetReport>): Array<Goal> => {
  const out: Array<Goal> = []
  for (const t of targets) {
    const r = t.run
    const node = r === null ? Number.NaN : readingsPerSec(r.best)
    const bare = r === null ? Number.NaN : r.bareInsert.bestRowsPerSec
    const p99 = r === null ? Number.NaN : summarize(r.halfPeak.phase.tally.latenciesMs).p99
    out.push({
      goal: `${t.name}: node readings/s >= ${SETTINGS.goals.nodeOverBareInsert} x bare insert`,
      target: `>= ${int(bare * SETTINGS.goals.nodeOverBareInsert)}`,
      measured: `${int(node)} (${ratio(node / bare)})`,
      pass: node >= bare * SETTINGS.goals.nodeOverBareInsert
    })
    out.push({ goal: `${t.name}: p99 at half peak < ${SETTINGS.goals.p99Ms} ms`, target: `< ${SETTINGS.goals.p99Ms}`, measured: `${ms(p99)} ms`, pass: p99 < SETTINGS.goals.p99Ms })
    const loops = (r?.saturation ?? []).map((m) => m.loop).filter((l): l is LoopDelay => l !== null && l !== undefined)
    const loopP99 = loops.length === 0 ? Number.NaN : Math.max(...loops.map((l) => l.p99Ms))
    const loopMax = loops.length === 0 ? Number.NaN : Math.max(...loops.map((l) => l.maxMs))
    out.push({
      goal: `${t.name}: event-loop delay while saturated, p99 <= ${SETTINGS.goals.loopP99Ms} ms and max <= ${SETTINGS.goals.loopMaxMs} ms`,
      target: `<= ${SETTINGS.goals.loopP99Ms} / ${SETTINGS.goals.loopMaxMs}`,
      measured: `${ms(loopP99)} / ${Number.isFinite(loopMax) || Number.isNaN(loopMax) ? ms(loopMax) : ">10000"} ms`,
      pass: loopP99 <= SETTINGS.goals.loopP99Ms && loopMax <= SETTINGS.goals.loopMaxMs
    })
    out.push({
      goal: `${t.name}: no durably acknowledged reading lost`,
      target: "lost: 0",
      measured: r === null ? "not measured" : `lost: ${r.durability.lost}`,
      pass: r !== null && r.durability.lost === 0
    })
  }
  return out
}

/** The run as JSON; raw latency samples are replaced by their summary. */
export const writeJson = async (dir: string, startedAt: Date, data: Record<string, unknown>): Promise<string> => {
  await fs.mkdir(dir, { recursive: true })
  const file = path.join(dir, `${startedAt.toISOString().replace(/:/g, "-")}.json`)
  const replacer = (key: string, value: unknown): unknown =>
    key === "latenciesMs" && Array.isArray(value) ? summarize(value.filter((v): v is number => typeof v === "number")) : value
  await fs.writeFile(file, `${JSON.stringify(data, replacer, 2)}\n`)
  return file
}

export const problemTotal = (t: Tally): number => problemCount(t)
