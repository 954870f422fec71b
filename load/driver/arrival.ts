/**
 * Open-model arrivals: one arrival every 1/rate seconds whatever the answers do, so a slow server
 * shows up as latency (measured from the intended time) instead of a quietly lower send rate
 * (coordinated omission). An arrival that finds `maxInFlight` requests outstanding is not sent
 * and is counted. Bounded: at most rate x duration arrivals, and the tail waits at most `drainMs`.
 */
import { setTimeout as sleep } from "node:timers/promises"
import type { Recorder } from "./recorder.js"

export interface ArrivalOptions {
  readonly ratePerSec: number
  readonly durationMs: number
  readonly maxInFlight: number
  readonly drainMs: number
  readonly recorder: Recorder
  /** Sends arrival `index`, due at `intendedAt` (performance.now() time); settles when answered. */
  readonly fire: (index: number, intendedAt: number) => Promise<void>
  readonly signal?: AbortSignal
}

/** Intended time of arrival i (pure): evenly spaced from `startedAt`. */
export const intendedTime = (startedAt: number, ratePerSec: number, i: number): number => startedAt + (i * 1000) / ratePerSec

export const arrivalsIn = (ratePerSec: number, durationMs: number): number => Math.max(0, Math.floor((ratePerSec * durationMs) / 1000))

export const runArrivals = async (o: ArrivalOptions): Promise<void> => {
  const total = arrivalsIn(o.ratePerSec, o.durationMs)
  const startedAt = performance.now()
  let inFlight = 0
  const pending = new Set<Promise<void>>()
  for (let i = 0; i < total; i++) {
    if (o.signal?.aborted === true) break
    const due = intendedTime(startedAt, o.ratePerSec, i)
    const wait = due - performance.now()
    // Timers are ~1 ms coarse: arrivals due within the same millisecond go out together.
    if (wait > 1) await sleep(wait)
    if (inFlight >= o.maxInFlight) {
      o.recorder.markUnsent()
      continue
    }
    inFlight++
    o.recorder.markSent(performance.now())
    const p: Promise<void> = o.fire(i, due).finally(() => {
      inFlight--
      pending.delete(p)
    })
    pending.add(p)
  }
  await Promise.race([Promise.allSettled([...pending]), sleep(o.drainMs)])
}
