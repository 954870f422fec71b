/**
 * Two (or more) nodes saturated in turns (a, b, a, b, ...) so that drift on the shared machine hits
 * every side alike; each side's rate is the median of its turns (single turns vary by +-10 % on this
 * VM), and, steadier, the readings each node took per second of its own CPU. Used by the rows that
 * compare one setting against another (AUTH_MODE, ROLLUPS).
 */
import * as os from "node:os"
import type { BodyPool } from "./bodies.js"
import { withCpu } from "./cpu.js"
import { closedLoop, type Endpoint, readingsPerSec } from "./load-driver.js"
import { SETTINGS } from "./settings.js"
import type { NodeTarget } from "./targets.js"

export interface TurnSide<Name extends string> {
  readonly name: Name
  readonly target: NodeTarget
  readonly endpoint: Endpoint
  readonly bodies: BodyPool
  /** Runs after each of this side's turns (not timed), e.g. to wait for background work to settle. */
  readonly afterTurn?: (turn: number) => Promise<string | undefined>
}

export interface TurnResults<Name extends string> {
  /** Median turn, readings/s durable, per side. */
  readonly median: Record<Name, number>
  /** Readings per second of the node's own CPU, over all turns, per side. */
  readonly perCpuSecond: Record<Name, number>
  /** Non-202 answers and transport errors, all sides. */
  readonly errors: number
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Warms every side (every sensor activated once), then saturates them in turns. */
export const runTurns = async <Name extends string>(
  sides: ReadonlyArray<TurnSide<Name>>,
  turns: number,
  log: (line: string) => void,
  describe: (name: Name) => string = (name) => name
): Promise<TurnResults<Name>> => {
  const { concurrencies, durationMs, warmupMs, warmupMaxMs } = SETTINGS.node
  const concurrency = Math.max(...concurrencies)
  for (const side of sides) {
    await closedLoop({
      label: `warm-up ${side.name}`,
      endpoint: side.endpoint,
      bodies: side.bodies,
      concurrency,
      stop: (t) => t >= warmupMs && side.bodies.groupsUsed() === side.bodies.groupCount,
      maxMs: warmupMaxMs
    })
    await side.afterTurn?.(-1)
  }
  const rates = new Map<Name, Array<number>>()
  const readings = new Map<Name, number>()
  const cpuSeconds = new Map<Name, number>()
  let errors = 0
  for (let turn = 0; turn < turns; turn++) {
    for (const side of sides) {
      const m = await withCpu(side.target.child.pid, os.cpus().length, () =>
        closedLoop({ label: side.name, endpoint: side.endpoint, bodies: side.bodies, concurrency, stop: (t) => t >= durationMs, maxMs: durationMs + 5_000 })
      )
      const rate = readingsPerSec(m.result)
      const t = m.result.tally
      // Any answer but 202 is an error of the row: a refusal (401/403, or 429 from a limit) would
      // make one side look cheaper or dearer than it is.
      const refused = Object.entries(t.statuses).reduce((n, [status, count]) => (status === "202" ? n : n + count), 0)
      errors += Object.values(t.errors).reduce((a, b) => a + b, 0) + refused
      rates.set(side.name, [...(rates.get(side.name) ?? []), rate])
      readings.set(side.name, (readings.get(side.name) ?? 0) + t.acceptedDurable)
      cpuSeconds.set(side.name, (cpuSeconds.get(side.name) ?? 0) + (m.cpu.child * m.result.elapsedMs) / 1000)
      const after = await side.afterTurn?.(turn)
      log(
        `    turn ${turn + 1}, ${describe(side.name)}: ${Math.round(rate).toLocaleString("en-US")} readings/s durable, node CPU ${m.cpu.child.toFixed(2)} cores` +
          `${refused > 0 ? `, ${refused} answers not 202` : ""}${typeof after === "string" ? `; ${after}` : ""}`
      )
    }
  }
  const per = <A>(f: (name: Name) => A) => Object.fromEntries(sides.map((s) => [s.name, f(s.name)])) as Record<Name, A>
  return {
    median: per((name) => median(rates.get(name) ?? [])),
    perCpuSecond: per((name) => (readings.get(name) ?? 0) / Math.max(1e-9, cpuSeconds.get(name) ?? 0)),
    errors
  }
}
