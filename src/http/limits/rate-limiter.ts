/**
 * Request rate limits per client address and per key (or token subject), GCRA. With `REDIS_URL`
 * every node shares them (a client spreading requests over nodes gets the same budget): with
 * `RATE_LIMIT_SYNC_MS=0` through one atomic script per request, exactly; by default each node
 * decides from its copy of the shared state and settles what it allowed every RATE_LIMIT_SYNC_MS
 * (synced-limits.ts), so a request costs no round trip and the budget may be overshot by what
 * other nodes allow within one settle. Without Redis, or while Redis does not answer, each node
 * limits alone. Limits
 * per sensor are the sensor actor's own token bucket (`throttleRate`/`throttleBurst`): one actor
 * owns a sensor cluster-wide, so that limit is exact already, and answered per reading (`throttled`).
 */
import { createHash } from "node:crypto"
import { Duration, Effect, Option, Schedule } from "effect"
import type { Redis } from "ioredis"
import { AppConfig } from "../../config.js"
import { RedisConnection } from "../../storage/redis.js"
import { rateLimited, rateLimiterFallbacks } from "../../telemetry/metrics.js"
import type { Principal } from "../auth/principal.js"
import { gcraJoint, type Limit } from "./gcra.js"
import { GCRA_SCRIPT, SETTLE_SCRIPT } from "./redis-script.js"
import { type LocalVerdict, type Spent, SyncedLimits } from "./synced-limits.js"

export interface Check {
  readonly scope: "ip" | "key"
  readonly key: string
  readonly limit: Limit
  /** The setting that holds the limit, named in the refusal. */
  readonly setting: string
}

export type Verdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly check: Check; readonly retryAfterMs: number; readonly resetMs: number }

const ALLOWED: Verdict = { allowed: true }
const LOCAL_MAX_ENTRIES = 100_000
const sha1 = (script: string) => createHash("sha1").update(script).digest("hex")
const SHA = sha1(GCRA_SCRIPT)
const SETTLE_SHA = sha1(SETTLE_SCRIPT)
/** A synced key's copy is trusted this many settle intervals (at least 1 s) after it was last primed or settled. */
const STALE_SETTLES = 10
/** Keys per settle script call. */
const SETTLE_CHUNK = 1_000

const runScript = async (client: Redis, sha: string, script: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string>): Promise<unknown> =>
  client.evalsha(sha, keys.length, ...keys, ...args).catch((e: unknown) => {
    if (e instanceof Error && e.message.startsWith("NOSCRIPT")) return client.eval(script, keys.length, ...keys, ...args)
    throw e
  })

/** GCRA over a node-local map of TATs; expired entries are pruned when the map grows past its bound. */
export class LocalLimits {
  private readonly tats = new Map<string, number>()

  check(checks: ReadonlyArray<Check>, now: number): Verdict {
    const d = gcraJoint(
      checks.map((c) => this.tats.get(c.key)),
      checks.map((c) => c.limit),
      now
    )
    if (!d.allowed) return { allowed: false, check: checks[d.index]!, retryAfterMs: d.retryAfterMs, resetMs: d.resetMs }
    if (this.tats.size > LOCAL_MAX_ENTRIES) for (const [k, tat] of this.tats) if (tat < now) this.tats.delete(k)
    for (let i = 0; i < checks.length; i++) this.tats.set(checks[i]!.key, d.tats[i]!)
    return ALLOWED
  }
}

const redisKey = (key: string) => `flowmesh:rl:${key}`

/** The exact decision in Redis, with each key's shared TAT after it (ms past now: its reset time). */
const redisCheck = async (client: Redis, checks: ReadonlyArray<Check>): Promise<{ readonly verdict: Verdict; readonly aheadMs: ReadonlyArray<number> }> => {
  const args = checks.flatMap((c) => {
    const interval = 1000 / c.limit.ratePerSec
    return [String(interval), String(interval * (c.limit.burst - 1))]
  })
  const reply = await runScript(client, SHA, GCRA_SCRIPT, checks.map((c) => redisKey(c.key)), args)
  if (!Array.isArray(reply)) throw new Error("rate limit script: unexpected reply")
  const aheadMs = checks.map((_, i) => Number(reply[4 * i + 3]))
  for (let i = 0; i < checks.length; i++) {
    if (Number(reply[4 * i]) === 0) return { verdict: { allowed: false, check: checks[i]!, retryAfterMs: Number(reply[4 * i + 2]), resetMs: Number(reply[4 * i + 3]) }, aheadMs }
  }
  return { verdict: ALLOWED, aheadMs }
}

/** Adds what this node allowed to the shared TATs; answers each key's shared TAT (ms past now). */
const redisSettle = async (client: Redis, spent: ReadonlyArray<Spent>): Promise<ReadonlyArray<number>> => {
  const reply = await runScript(client, SETTLE_SHA, SETTLE_SCRIPT, spent.map((s) => redisKey(s.key)), spent.map((s) => String(s.count * s.intervalMs)))
  if (!Array.isArray(reply) || reply.length !== spent.length) throw new Error("rate limit settle script: unexpected reply")
  return reply.map(Number)
}

export class RateLimiter extends Effect.Service<RateLimiter>()("flowmesh/RateLimiter", {
  scoped: Effect.gen(function* () {
    const { limits } = yield* AppConfig
    const { client } = yield* RedisConnection
    const local = new LocalLimits()
    const ip: Limit = { ratePerSec: limits.ipPerSecond, burst: limits.ipBurst }
    const key: Limit = { ratePerSec: limits.keyPerSecond, burst: limits.keyBurst }

    const checksFor = (address: string, p: Principal): ReadonlyArray<Check> => {
      const out: Array<Check> = []
      if (ip.ratePerSec > 0) out.push({ scope: "ip", key: `ip:${address}`, limit: ip, setting: "RATE_LIMIT_IP_PER_SECOND" })
      if (key.ratePerSec > 0 && p.kind !== "anonymous") out.push({ scope: "key", key: `key:${p.kind}:${p.id}`, limit: key, setting: "RATE_LIMIT_KEY_PER_SECOND" })
      return out
    }

    /** Synced limits (the default with Redis): decided here from a copy kept in step by a settle every RATE_LIMIT_SYNC_MS. */
    const synced = Option.isSome(client) && limits.syncMs > 0 ? new SyncedLimits(Math.max(1_000, STALE_SETTLES * limits.syncMs)) : null

    const fromLocal = (checks: ReadonlyArray<Check>, v: LocalVerdict): Verdict =>
      v.allowed ? ALLOWED : { allowed: false, check: checks[v.index]!, retryAfterMs: v.retryAfterMs, resetMs: v.resetMs }

    /** One atomic decision in Redis (which also primes the synced copy); the node's own when Redis does not answer in time. */
    const exact = (redis: Redis, checks: ReadonlyArray<Check>): Effect.Effect<Verdict> =>
      Effect.tryPromise(() => redisCheck(redis, checks)).pipe(
        Effect.timeout("250 millis"),
        Effect.map(({ verdict, aheadMs }) => {
          synced?.prime(checks, aheadMs, Date.now())
          return verdict
        }),
        Effect.catchAll(() =>
          Effect.sync(() => {
            rateLimiterFallbacks.inc()
            return local.check(checks, Date.now())
          })
        )
      )

    const decide = (checks: ReadonlyArray<Check>): Effect.Effect<Verdict> =>
      Option.match(client, {
        onNone: () => Effect.sync(() => local.check(checks, Date.now())),
        onSome: (redis) => {
          const v = synced?.decide(checks, Date.now())
          return v === undefined ? exact(redis, checks) : Effect.succeed(fromLocal(checks, v))
        }
      })

    if (synced !== null && Option.isSome(client)) {
      const redis = client.value
      const settleChunk = (spent: ReadonlyArray<Spent>) =>
        Effect.tryPromise(() => redisSettle(redis, spent)).pipe(
          Effect.timeout("1 second"),
          Effect.match({
            onSuccess: (aheadMs) => {
              const now = Date.now()
              for (let i = 0; i < spent.length; i++) synced.settled(spent[i]!.key, aheadMs[i] ?? 0, now)
            },
            // Carried by the next settle; meanwhile the copies go stale and decisions ask Redis (or fall back).
            onFailure: () => {
              rateLimiterFallbacks.inc()
              synced.restore(spent)
            }
          })
        )
      // Chunks of SETTLE_CHUNK keys, one after the other, so that one settle never holds Redis long.
      const settle = Effect.suspend(() => {
        const spent = synced.drain()
        const chunks: Array<ReadonlyArray<Spent>> = []
        for (let i = 0; i < spent.length; i += SETTLE_CHUNK) chunks.push(spent.slice(i, i + SETTLE_CHUNK))
        return Effect.forEach(chunks, settleChunk, { discard: true })
      })
      yield* Effect.forkScoped(Effect.repeat(settle, Schedule.spaced(Duration.millis(limits.syncMs))))
    }

    return {
      enabled: ip.ratePerSec > 0 || key.ratePerSec > 0,
      /**
       * The node's decision, synchronously, for the lean ingest lane; undefined when it needs Redis
       * (exact limits, or a synced key whose copy is missing or stale: the caller takes the regular
       * path, which asks). A refusal changes nothing, so the regular path that then answers it
       * decides the same.
       */
      checkNow: (address: string, p: Principal): Verdict | undefined => {
        const checks = checksFor(address, p)
        if (checks.length === 0) return ALLOWED
        if (Option.isNone(client)) return local.check(checks, Date.now())
        const v = synced?.decide(checks, Date.now())
        return v === undefined ? undefined : fromLocal(checks, v)
      },
      check: (address: string, p: Principal): Effect.Effect<Verdict> => {
        const checks = checksFor(address, p)
        if (checks.length === 0) return Effect.succeed(ALLOWED)
        return Effect.tap(decide(checks), (v) => {
          if (!v.allowed) rateLimited[v.check.scope].inc()
        })
      }
    } as const
  })
}) {}
