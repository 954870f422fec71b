/**
 * Turns a credential into a principal. A key is looked up by its HMAC in PostgreSQL once, then
 * served from the node's cache for `AUTH_CACHE_TTL_MS`: the hot path is one `Map` lookup, no
 * hashing and no round trip. Unknown keys are cached too (briefly), so a client retrying a bad key
 * cannot turn into a query per request. Revoking on this node drops the key from its cache at once;
 * other nodes stop trusting it when their entry expires (the TTL is the bound the API promises).
 */
import { Effect, Option, Redacted } from "effect"
import { AppConfig } from "../../config.js"
import { type KeyRow, KeyRepo } from "../../storage/key-repo.js"
import { hashKey, looksLikeKey, sameSecret } from "./api-keys.js"
import type { Credential } from "./credentials.js"
import { type JwtVerifier, makeJwtVerifier } from "./jwt.js"
import { ALL_SENSORS, DEFAULT_TENANT, type Principal, type SensorScope } from "./principal.js"
import { TtlCache } from "./ttl-cache.js"

export interface Refusal {
  readonly _tag: "Refusal"
  readonly message: string
}

type Cached = Principal | Refusal

const refusal = (message: string): Refusal => ({ _tag: "Refusal", message })
const isRefusal = (c: Cached): c is Refusal => "_tag" in c
const UNKNOWN_KEY = refusal("unknown or revoked key")
const UNKNOWN_DEVICE = refusal("unknown or revoked device key: the topic <prefix>/<key id>/readings must name an active device key's id")
const NEGATIVE_TTL_MS = 2_000
/** Cache entries by key id are kept apart from those by credential (no key or token starts with "#"). */
const DEVICE_ENTRY = "#"

const scopeOf = (row: KeyRow): SensorScope =>
  row.sensorPrefix !== null
    ? { _tag: "Prefix", prefix: row.sensorPrefix }
    : row.sensors !== null
      ? { _tag: "List", sensors: new Set(row.sensors) }
      : ALL_SENSORS

export const principalOfKey = (row: KeyRow): Principal => ({
  kind: row.kind,
  id: row.id,
  tenant: row.tenant,
  role: row.role,
  scope: scopeOf(row),
  superuser: false
})

const BOOTSTRAP: Principal = { kind: "bootstrap", id: "bootstrap", tenant: DEFAULT_TENANT, role: "admin", scope: ALL_SENSORS, superuser: true }

export class Authenticator extends Effect.Service<Authenticator>()("flowmesh/Authenticator", {
  effect: Effect.gen(function* () {
    const { auth } = yield* AppConfig
    const repo = yield* KeyRepo
    const pepper = Option.map(auth.pepper, Redacted.value)
    const bootstrapKey = Option.getOrNull(Option.map(auth.bootstrapAdminKey, Redacted.value))
    const cache = new TtlCache<Cached>(auth.cacheTtlMs, auth.cacheMaxEntries)
    const jwt: JwtVerifier | null = makeJwtVerifier({
      secret: Option.getOrNull(Option.map(auth.jwtSecret, Redacted.value)),
      jwksUrl: Option.getOrNull(auth.jwtJwksUrl),
      issuer: Option.getOrNull(auth.jwtIssuer),
      audience: Option.getOrNull(auth.jwtAudience)
    })

    const lookupKey = (key: string) =>
      Effect.gen(function* () {
        if (bootstrapKey !== null && sameSecret(key, bootstrapKey)) return BOOTSTRAP
        if (Option.isNone(pepper) || !looksLikeKey(key)) return UNKNOWN_KEY
        const row = yield* repo.findActiveByHash(hashKey(pepper.value, key))
        return row === null ? UNKNOWN_KEY : principalOfKey(row)
      })

    const verifyToken = (token: string) =>
      Effect.promise(async (): Promise<{ readonly value: Cached; readonly ttlMs: number }> => {
        if (jwt === null) return { value: refusal("bearer tokens are not accepted: JWT_SECRET or JWT_JWKS_URL is not set"), ttlMs: NEGATIVE_TTL_MS }
        const r = await jwt(token)
        if (!r.ok) return { value: refusal(r.message), ttlMs: NEGATIVE_TTL_MS }
        return { value: r.principal, ttlMs: r.expiresAt === null ? auth.cacheTtlMs : Math.max(0, r.expiresAt - Date.now()) }
      })

    return {
      required: auth.mode === "required",
      /** Whether keys can be issued and checked (AUTH_PEPPER is set). */
      pepper,
      /** The cached answer for a credential, if any: the hot path, synchronous. */
      cached: (credential: Credential, now: number): Principal | Refusal | undefined => {
        if (credential._tag === "Key") return cache.get(credential.key, now)
        if (credential._tag === "Jwt") return cache.get(credential.token, now)
        return undefined
      },
      /** Looks the credential up (database or JWT verification) and caches the answer. */
      resolve: (credential: Credential) =>
        Effect.gen(function* () {
          switch (credential._tag) {
            case "None":
              return refusal("missing credentials: send Authorization: Bearer <key or token>, or X-Device-Key: <key>")
            case "Malformed":
              return refusal(credential.message)
            case "Key": {
              const value = yield* lookupKey(credential.key)
              cache.set(credential.key, value, Date.now(), isRefusal(value) ? NEGATIVE_TTL_MS : auth.cacheTtlMs)
              return value
            }
            case "Jwt": {
              const { value, ttlMs } = yield* verifyToken(credential.token)
              cache.set(credential.token, value, Date.now(), ttlMs)
              return value
            }
          }
        }),
      /** The cached answer for a device known by its key id (the MQTT edge's topics name it), if any. */
      cachedDevice: (keyId: string, now: number): Principal | Refusal | undefined => cache.get(DEVICE_ENTRY + keyId, now),
      /** Looks a device key up by its id and caches the answer, as `resolve` does for a key. */
      resolveDevice: (keyId: string) =>
        Effect.gen(function* () {
          const row = yield* repo.findActiveById(keyId)
          const value = row === null || row.kind !== "device" ? UNKNOWN_DEVICE : principalOfKey(row)
          cache.set(DEVICE_ENTRY + keyId, value, Date.now(), isRefusal(value) ? NEGATIVE_TTL_MS : auth.cacheTtlMs)
          return value
        }),
      /** Drops a revoked key from this node's cache. */
      forget: (keyId: string) => cache.deleteWhere((c) => !isRefusal(c) && c.id === keyId)
    } as const
  }),
  dependencies: [KeyRepo.Default]
}) {}

export { isRefusal }
