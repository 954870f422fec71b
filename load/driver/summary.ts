/** The driver's printed summary: one row per part of a scenario, and the knee's steps. */
import type { KneeResult } from "./knee.js"
import { errorRate, type RecorderSummary } from "./recorder.js"

const ms = (x: number): string => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : "-")
const int = (x: number): string => Math.round(x).toLocaleString("en-US")
const counts = (m: Readonly<Record<string, number>>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "-"

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

export const PART_HEADERS = ["part", "sent", "ok", "unsent", "ok/s", "readings/s", "p50", "p90", "p99", "p99.9", "max ms", "rejected", "errors"]

export const partRow = (s: RecorderSummary): Array<string> => [
  s.label,
  int(s.sent),
  int(s.ok),
  int(s.unsent),
  int(s.throughput.okPerSec),
  int(s.throughput.readingsPerSec),
  ms(s.latencyMs.p50),
  ms(s.latencyMs.p90),
  ms(s.latencyMs.p99),
  ms(s.latencyMs.p999),
  ms(s.latencyMs.max),
  counts(s.rejected),
  counts(s.errors)
]

/** Throughput and p99 per second, as a compact series for the terminal. */
export const seriesLine = (s: RecorderSummary): string =>
  s.series.map((x) => `${x.second}s:${int(x.ok)}/${ms(x.p99Ms)}`).join(" ")

export const kneeTable = (k: KneeResult): string =>
  table(
    ["rate/s", "p99 ms", "errors", "held"],
    k.steps.map((s) => [int(s.rate), ms(s.p99Ms), `${(s.errorRate * 100).toFixed(2)}%`, s.held ? "yes" : `no: ${s.why}`])
  )

export const errorPercent = (s: RecorderSummary): string => `${(errorRate(s) * 100).toFixed(2)}%`
