/** Tenants and keys: a key is generated here, returned once, and stored as its HMAC. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, FiberRef, Option } from "effect"
import { BrokerCredentials } from "../storage/broker-credentials.js"
import { KeyRepo } from "../storage/key-repo.js"
import { FlowmeshApi } from "./api.js"
import { generateKey, generateKeyId, hashKey, keyHint } from "./auth/api-keys.js"
import { Authenticator } from "./auth/authenticator.js"
import { currentPrincipal, describePrincipal } from "./auth/principal.js"
import { ServiceUnavailable } from "./errors.js"
import { type CreateKey, InvalidKeyRequest, KeyNotFound, KeysDisabled, TenantExists, TenantNotFound } from "./keys-api.js"

const unavailable = () => new ServiceUnavailable({ message: "database unavailable; retry later" })
const invalid = (message: string) => new InvalidKeyRequest({ message })

/** What is wrong with a key request's combination of fields, if anything (the schema checked each field). */
export const keyRequestProblem = (r: typeof CreateKey.Type): string | null => {
  if (r.kind === "device" && r.role !== undefined) return "role: a device key has no role (it may only ingest); leave role out"
  if (r.kind === "service" && r.role === undefined) return "role: required for a service key (viewer, operator or admin)"
  if (r.kind === "service" && (r.sensorPrefix !== undefined || r.sensors !== undefined)) {
    return `${r.sensorPrefix !== undefined ? "sensorPrefix" : "sensors"}: only device keys are bound to sensors`
  }
  if (r.sensorPrefix !== undefined && r.sensors !== undefined) return "sensors: give sensorPrefix or sensors, not both"
  return null
}

export const KeysHandlersLive = HttpApiBuilder.group(FlowmeshApi, "keys", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* KeyRepo
    const auth = yield* Authenticator
    const broker = yield* BrokerCredentials
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          const caller = yield* FiberRef.get(currentPrincipal)
          const problem = keyRequestProblem(payload)
          if (problem !== null) return yield* Effect.fail(invalid(problem))
          if (Option.isNone(auth.pepper)) {
            return yield* Effect.fail(new KeysDisabled({ message: "keys cannot be issued: set AUTH_PEPPER (at least 32 characters) on every node" }))
          }
          const tenant = payload.tenant ?? caller.tenant
          const missing = new TenantNotFound({ message: `tenant ${JSON.stringify(tenant)} does not exist` })
          if (tenant !== caller.tenant && !caller.superuser) return yield* Effect.fail(missing)
          if (!(yield* repo.tenantExists(tenant).pipe(Effect.mapError(unavailable)))) return yield* Effect.fail(missing)
          const key = generateKey(payload.kind)
          const row = yield* repo
            .insert({
              id: generateKeyId(),
              tenant,
              kind: payload.kind,
              role: payload.role ?? null,
              name: payload.name,
              hash: hashKey(auth.pepper.value, key),
              hint: keyHint(key),
              sensorPrefix: payload.sensorPrefix ?? null,
              sensors: payload.sensors ?? null,
              createdBy: describePrincipal(caller)
            })
            .pipe(Effect.mapError(unavailable))
          if (row.kind === "device" && broker.enabled) {
            // A device key is handed out only once the broker knows it: otherwise it could not publish over MQTT.
            yield* broker.provision(row.id, key, row.name).pipe(
              Effect.catchAll((e) =>
                Effect.andThen(
                  repo.remove(row.id).pipe(Effect.ignore),
                  Effect.fail(new ServiceUnavailable({ message: `device key not issued: ${e.message}; retry later` }))
                )
              )
            )
          }
          return { ...row, key }
        })
      )
      .handle("list", () =>
        Effect.gen(function* () {
          const caller = yield* FiberRef.get(currentPrincipal)
          const rows = yield* repo.list(caller.tenant).pipe(Effect.mapError(unavailable))
          return { keys: rows }
        })
      )
      .handle("revoke", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* FiberRef.get(currentPrincipal)
          const revoked = yield* repo.revoke(caller.tenant, path.id).pipe(Effect.mapError(unavailable))
          if (revoked === null) return yield* Effect.fail(new KeyNotFound({ message: `key ${JSON.stringify(path.id)} does not exist or is already revoked` }))
          auth.forget(path.id)
          if (revoked === "device") yield* broker.revoke(path.id)
        })
      )
  })
)

export const TenantsHandlersLive = HttpApiBuilder.group(FlowmeshApi, "tenants", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* KeyRepo
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          const row = yield* repo.insertTenant(payload.id, payload.name).pipe(Effect.mapError(unavailable))
          if (row === null) return yield* Effect.fail(new TenantExists({ message: `tenant ${JSON.stringify(payload.id)} already exists` }))
          return row
        })
      )
      .handle("list", () => repo.listTenants().pipe(Effect.mapError(unavailable), Effect.map((tenants) => ({ tenants }))))
  })
)

/** GET /api/v1/me: the caller as the edge authenticated it (the anonymous superuser with AUTH_MODE=none). */
export const MeHandlersLive = HttpApiBuilder.group(FlowmeshApi, "me", (handlers) =>
  Effect.gen(function* () {
    const auth = yield* Authenticator
    const authMode = auth.required ? ("required" as const) : ("none" as const)
    return handlers.handle("get", () =>
      Effect.map(FiberRef.get(currentPrincipal), (p) => ({ kind: p.kind, id: p.id, tenant: p.tenant, role: p.role, superuser: p.superuser, authMode }))
    )
  })
)
