/**
 * HTTP load over an undici Pool (keep-alive, no pipelining), two models:
 * - closed loop: `concurrency` workers, each sends its next request when the previous answer is
 *   in; a 503 makes that worker wait Retry-After (capped at 1 s), as a well-behaved device would.
 * - open model: requests are due at a fixed rate whatever the answers do; latency is measured from
 *   the intended send time, so queueing in the client or the server is never hidden (no coordinated
 *   omission). Arrivals that could not even be sent by the end are counted as `unsent`.
 * Every loop stops on time and on a request count cap.
 */
import { setTimeout as sleep } from "node:timers/promises"
import { Pool } from "undici"
import { isAborted } from "./abort.js"
import type { BodyPool, Lease } from "./bodies.js"
import { SETTINGS } from "./settings.js"
import { newTally, recordAnswer, recordError, type Tally } from "./tally.js"

export interface Endpoint {
  readonly origin: string
  readonly path: string
  /** Sent with every request besides content-type (a device key). */
  readonly headers?: Readonly<Record<string, string>>
}

export interface PhaseResult {
  readonly label: string
  readonly model: "closed" | "open"
  readonly concurrency: number | null
  readonly targetRatePerSec: number | null
  readonly elapsedMs: number
  /** Open model: arrivals that were due but never sent (in-flight cap or no idle sensor group). */
  readonly unsent: number
  readonly tally: Tally
}

export const readingsPerSec = (p: PhaseResult): number => (p.tally.acceptedDurable * 1000) / p.elapsedMs
export const requestsPerSec = (p: PhaseResult): number => (p.tally.ok * 1000) / p.elapsedMs

const HEADERS = { "content-type": "application/json" }

const makePool = (origin: string, connections: number): Pool =>
  new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: SETTINGS.http.headersTimeoutMs,
    bodyTimeout: SETTINGS.http.bodyTimeoutMs,
    keepAliveTimeout: 30_000
  })

const retryAfterMs = (value: string | Array<string> | undefined): number => {
  const s = Array.isArray(value) ? value[0] : value
  const n = s === undefined ? Number.NaN : Number(s)
  return Number.isFinite(n) && n > 0 ? Math.min(1_000, n * 1_000) : 1_000
}

/** Sends one body; answers how long the caller should back off (0 = not at all). */
const send = async (pool: Pool, endpoint: Endpoint, lease: Lease, tally: Tally, intendedAt: number): Promise<number> => {
  tally.readingsSent += lease.readings
  try {
    const res = await pool.request({ path: endpoint.path, method: "POST", headers: endpoint.headers === undefined ? HEADERS : { ...HEADERS, ...endpoint.headers }, body: lease.body })
    const text = await res.body.text()
    recordAnswer(tally, res.statusCode, text, performance.now() - intendedAt)
    return res.statusCode === 503 ? retryAfterMs(res.headers["retry-after"]) : 0
  } catch (e) {
    recordError(tally, e)
    return 50
  }
}

export interface ClosedLoopOptions {
  readonly label: string
  readonly endpoint: Endpoint
  readonly bodies: BodyPool
  readonly concurrency: number
  /** Asked before every request with the ms elapsed since the start; true ends the phase. */
  readonly stop: (elapsedMs: number) => boolean
  /** Hard time limit whatever `stop` says. */
  readonly maxMs: number
}

export const closedLoop = async (o: ClosedLoopOptions): Promise<PhaseResult> => {
  const pool = makePool(o.endpoint.origin, o.concurrency)
  const tally = newTally()
  const t0 = performance.now()
  const cap = SETTINGS.http.maxRequestsPerPhase
  let started = 0
  const done = (): boolean => {
    const elapsed = performance.now() - t0
    return elapsed >= o.maxMs || started >= cap || isAborted() || o.stop(elapsed)
  }
  const worker = async (): Promise<void> => {
    while (!done()) {
      const lease = o.bodies.acquire()
      if (lease === undefined) {
        await sleep(1)
        continue
      }
      started++
      let backoff = 0
      try {
        backoff = await send(pool, o.endpoint, lease, tally, performance.now())
      } finally {
        lease.release()
      }
      if (backoff > 0) await sleep(backoff)
    }
  }
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker))
  } finally {
    await pool.close()
  }
  return {
    label: o.label,
    model: "closed",
    concurrency: o.concurrency,
    targetRatePerSec: null,
    elapsedMs: performance.now() - t0,
    unsent: 0,
    tally
  }
}

export interface OpenModelOptions {
  readonly label: string
  readonly endpoint: Endpoint
  readonly bodies: BodyPool
  readonly ratePerSec: number
  readonly durationMs: number
  readonly maxInFlight: number
  readonly connections: number
}

export const openModel = async (o: OpenModelOptions): Promise<PhaseResult> => {
  const pool = makePool(o.endpoint.origin, o.connections)
  const tally = newTally()
  const interval = 1000 / o.ratePerSec
  const due = Math.min(SETTINGS.http.maxRequestsPerPhase, Math.floor(o.durationMs / interval))
  const inFlight = new Set<Promise<void>>()
  const t0 = performance.now()
  let sent = 0
  try {
    while (sent < due) {
      const elapsed = performance.now() - t0
      if (elapsed >= o.durationMs || isAborted()) break
      while (sent < due && sent * interval <= elapsed && inFlight.size < o.maxInFlight) {
        const lease = o.bodies.acquire()
        if (lease === undefined) break
        const intendedAt = t0 + sent * interval
        sent++
        const p: Promise<void> = send(pool, o.endpoint, lease, tally, intendedAt).then(
          () => {
            lease.release()
            inFlight.delete(p)
          },
          () => {
            lease.release()
            inFlight.delete(p)
          }
        )
        inFlight.add(p)
      }
      const wait = t0 + sent * interval - performance.now()
      await sleep(Math.max(1, Math.floor(wait)))
    }
    // Answers still due are awaited (bounded by the pool's header/body timeouts).
    await Promise.allSettled(Array.from(inFlight))
  } finally {
    await pool.close()
  }
  return {
    label: o.label,
    model: "open",
    concurrency: null,
    targetRatePerSec: o.ratePerSec,
    elapsedMs: performance.now() - t0,
    unsent: due - sent,
    tally
  }
}
