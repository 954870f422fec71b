/**
 * What rollups cost ingestion: two nodes on the machine's PostgreSQL (each its own database), one
 * with ROLLUPS=false, one with rollups on (the default: every flush appends its mark, the rollup
 * job recomputes buckets in the background). Saturated in turns; after each turn of the rollups
 * node, the bench waits (untimed) until its job has taken every mark, so the job's catch-up never
 * leaks into the other node's turn, and reports how far behind the job was when the turn ended and
 * how long it took to catch up. At the end every stored reading must be counted once in the 1 min,
 * 1 h and 1 d tiers.
 */
import { BodyPool } from "./bodies.js"
import { SETTINGS } from "./settings.js"
import { type NodeTarget, queryOne, startTarget } from "./targets.js"
import { runTurns, type TurnSide } from "./turns.js"

export interface RollupsRow {
  readonly offReadingsPerSec: number
  readonly onReadingsPerSec: number
  /** on / off of the median turns: the floor is 0.85. */
  readonly ratio: number
  readonly cpuRatio: number
  readonly turns: number
  readonly errors: number
  /** Marks waiting when a turn ended (each is one flush of up to WRITER_BATCH_SIZE rows), worst turn. */
  readonly maxPendingMarks: number
  /** Longest wait after a turn until the job had taken every mark. */
  readonly maxCatchUpMs: number
  readonly stored: number
  /** sum(n) of each tier at the end: each must equal `stored`. */
  readonly tiers: { readonly "1m": number; readonly "1h": number; readonly "1d": number }
}

const INGEST_PATH = "/api/v1/readings?ack=durable"
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const runRollupsPhase = async (log: (line: string) => void, track: (t: NodeTarget | null) => void): Promise<RollupsRow> => {
  const turns = SETTINGS.rollups.turns
  const off = await startTarget("external", { ROLLUPS: "false" })
  track(off)
  let on: NodeTarget | null = null
  try {
    on = await startTarget("external", {})
    track(on)
    const onDb = on.dbUrl
    let maxPendingMarks = 0
    let maxCatchUpMs = 0
    const pending = async () => Number((await queryOne(onDb, "select count(*)::int as n from rollup_marks")).n)
    const catchUp = async (turn: number): Promise<string> => {
      const started = performance.now()
      const atEnd = await pending()
      let left = atEnd
      while (left > 0 && performance.now() - started < SETTINGS.rollups.catchUpMaxMs) {
        await sleep(100)
        left = await pending()
      }
      const waited = performance.now() - started
      if (left > 0) throw new Error(`the rollup job still had ${left} marks after ${SETTINGS.rollups.catchUpMaxMs} ms`)
      if (turn >= 0) {
        maxPendingMarks = Math.max(maxPendingMarks, atEnd)
        maxCatchUpMs = Math.max(maxCatchUpMs, waited)
      }
      return `${atEnd} marks pending at the end, caught up in ${(waited / 1000).toFixed(1)} s`
    }
    const sides: ReadonlyArray<TurnSide<"off" | "on">> = [
      { name: "off", target: off, endpoint: { origin: off.origin, path: INGEST_PATH }, bodies: new BodyPool(SETTINGS.body) },
      { name: "on", target: on, endpoint: { origin: on.origin, path: INGEST_PATH }, bodies: new BodyPool(SETTINGS.body), afterTurn: catchUp }
    ]
    const results = await runTurns(sides, turns, log, (name) => `ROLLUPS=${name === "on" ? "true" : "false"}`)
    const sums = await queryOne(
      onDb,
      `select (select count(*) from readings)::float8 as stored,
              (select coalesce(sum(n), 0) from rollup_1m)::float8 as m, (select coalesce(sum(n), 0) from rollup_1h)::float8 as h,
              (select coalesce(sum(n), 0) from rollup_1d)::float8 as d`
    )
    return {
      offReadingsPerSec: results.median.off,
      onReadingsPerSec: results.median.on,
      ratio: results.median.on / results.median.off,
      cpuRatio: results.perCpuSecond.on / results.perCpuSecond.off,
      turns,
      errors: results.errors,
      maxPendingMarks,
      maxCatchUpMs,
      stored: Number(sums.stored),
      tiers: { "1m": Number(sums.m), "1h": Number(sums.h), "1d": Number(sums.d) }
    }
  } finally {
    track(null)
    await Promise.all([off.stop(), on?.stop()])
  }
}

const n = (x: number) => Math.round(x).toLocaleString("en-US")

/** The row's goal: rollups on keep >= 0.85x of ingest without them, with every reading rolled up once. */
export const rollupGoals = (row: RollupsRow | null) =>
  row === null
    ? []
    : [
        {
          goal: "HTTP ingest with rollups on / off (ROLLUPS=true vs false), every stored reading counted once per tier",
          target: `>= ${SETTINGS.goals.rollupsOnOverOff}x`,
          measured: `${row.ratio.toFixed(2)}x`,
          pass:
            row.ratio >= SETTINGS.goals.rollupsOnOverOff &&
            row.errors === 0 &&
            row.tiers["1m"] === row.stored &&
            row.tiers["1h"] === row.stored &&
            row.tiers["1d"] === row.stored
        }
      ]

export const rollupTable = (row: RollupsRow): { readonly headers: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => ({
  headers: ["HTTP ingest, 100/request, ack=durable", "ROLLUPS=false", "ROLLUPS=true", "on / off", "per node CPU-second", "turns", "errors", "marks pending at turn end (max)", "catch-up (max)", "stored / 1m / 1h / 1d"],
  rows: [
    [
      "median turn, readings/s",
      n(row.offReadingsPerSec),
      n(row.onReadingsPerSec),
      `${row.ratio.toFixed(2)}x`,
      `${row.cpuRatio.toFixed(2)}x`,
      String(row.turns),
      String(row.errors),
      n(row.maxPendingMarks),
      `${(row.maxCatchUpMs / 1000).toFixed(1)} s`,
      `${n(row.stored)} / ${n(row.tiers["1m"])} / ${n(row.tiers["1h"])} / ${n(row.tiers["1d"])}`
    ]
  ]
})
