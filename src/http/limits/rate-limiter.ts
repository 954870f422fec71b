/**
 * Request rate limits per client address and per key (or token subject), GCRA. With `REDIS_URL`
 * every node shares them through one atomic script (a client spreading requests over nodes gets
 * the same budget); without Redis, or while Redis does not answer, each node limits alone. Limits
 * per sensor are the sensor actor's own token bucket (`throttleRate`/`throttleBurst`): one actor
 * owns a sensor cluster-wide, so that limit is exact already, and answered per reading (`throttled`).
 */
import { createHash } from "node:crypto"
import { Effect, Option } from "effect"
import type { Redis } from "ioredis"
import { AppConfig } from "../../config.js"
import { RedisConnection } from "../../storage/redis.js"
import { rateLimited, rateLimiterFallbacks } from "../../telemetry/metrics.js"
import type { Principal } from "../auth/principal.js"
import { gcra, type Limit } from "./gcra.js"
import { GCRA_SCRIPT } from "./redis-script.js"

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
const SHA = createHash("sha1").update(GCRA_SCRIPT).digest("hex")

/** GCRA over a node-local map of TATs; expired entries are pruned when the map grows past its bound. */
export class LocalLimits {
  private readonly tats = new Map<string, number>()

  check(checks: ReadonlyArray<Check>, now: number): Verdict {
    const decisions = checks.map((c) => gcra(this.tats.get(c.key), now, c.limit))
    const refused = decisions.findIndex((d) => !d.allowed)
    if (refused >= 0) {
      const d = decisions[refused]!
      return { allowed: false, check: checks[refused]!, retryAfterMs: d.retryAfterMs, resetMs: d.resetMs }
    }
    if (this.tats.size > LOCAL_MAX_ENTRIES) for (const [k, tat] of this.tats) if (tat < now) this.tats.delete(k)
    for (let i = 0; i < checks.length; i++) this.tats.set(checks[i]!.key, decisions[i]!.tat)
    return ALLOWED
  }
}

const redisCheck = async (client: Redis, checks: ReadonlyArray<Check>): Promise<Verdict> => {
  const keys = checks.map((c) => `flowmesh:rl:${c.key}`)
  const args = checks.flatMap((c) => {
    const interval = 1000 / c.limit.ratePerSec
    return [String(interval), String(interval * (c.limit.burst - 1))]
  })
  const reply: unknown = await client.evalsha(SHA, keys.length, ...keys, ...args).catch((e: unknown) => {
    if (e instanceof Error && e.message.startsWith("NOSCRIPT")) return client.eval(GCRA_SCRIPT, keys.length, ...keys, ...args)
    throw e
  })
  if (!Array.isArray(reply)) throw new Error("rate limit script: unexpected reply")
  for (let i = 0; i < checks.length; i++) {
    if (Number(reply[4 * i]) === 0) return { allowed: false, check: checks[i]!, retryAfterMs: Number(reply[4 * i + 2]), resetMs: Number(reply[4 * i + 3]) }
  }
  return ALLOWED
}

export class RateLimiter extends Effect.Service<RateLimiter>()("flowmesh/RateLimiter", {
  effect: Effect.gen(function* () {
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

    const decide = (checks: ReadonlyArray<Check>): Effect.Effect<Verdict> =>
      Option.match(client, {
        onNone: () => Effect.sync(() => local.check(checks, Date.now())),
        onSome: (redis) =>
          Effect.tryPromise(() => redisCheck(redis, checks)).pipe(
            Effect.timeout("250 millis"),
            Effect.catchAll(() =>
              Effect.sync(() => {
                rateLimiterFallbacks.inc()
                return local.check(checks, Date.now())
              })
            )
          )
      })

    return {
      enabled: ip.ratePerSec > 0 || key.ratePerSec > 0,
      /**
       * The node-local decision, synchronously, for the lean ingest lane; undefined when the limits
       * are shared through Redis (that needs a round trip: the caller takes the regular path). A
       * refusal changes nothing, so the regular path that then answers it decides the same.
       */
      checkNow: (address: string, p: Principal): Verdict | undefined => {
        if (Option.isSome(client)) return undefined
        const checks = checksFor(address, p)
        return checks.length === 0 ? ALLOWED : local.check(checks, Date.now())
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
