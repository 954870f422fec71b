/** The node's Prometheus registry, with the process's default metrics and the event-loop delay. */
import { type Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client"
import { monitorEventLoopDelay } from "./event-loop-delay.js"

export const registry = new Registry()
collectDefaultMetrics({ register: registry, prefix: "flowmesh_" })
monitorEventLoopDelay(registry)
/**
 * Exports each known series at 0 from the start (prom-client's `labels()` alone exports nothing
 * until the first increment): a dashboard's rate() needs a first sample, and a series that is
 * missing then means it was never declared.
 */
export const atZero = <T extends Record<string, Counter.Internal>>(children: T): T => {
  for (const child of Object.values(children)) child.inc(0)
  return children
}

/**
 * A gauge read at scrape time from the values its owners report: `set` on every change (per
 * sensor batch on the hot path) cost prom-client an object per call. Each owner registers a
 * reader and removes it when it stops; the gauge is their sum (one owner per node in practice).
 */
export const sampledGauge = ({ name, help }: { readonly name: string; readonly help: string }) => {
  const readers = new Set<() => number>()
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      let sum = 0
      for (const read of readers) sum += read()
      this.set(sum)
    }
  })
  return (read: () => number): (() => void) => {
    readers.add(read)
    return () => readers.delete(read)
  }
}

