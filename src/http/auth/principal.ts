/**
 * Who is calling, as the edge established it: a device key, a service's API key, a user's JWT, the
 * bootstrap admin key, or nobody when `AUTH_MODE=none`. Handlers read it from `currentPrincipal`,
 * which the edge sets for the request.
 */
import { Effect, FiberRef } from "effect"
import { DEFAULT_TENANT } from "../../domain/tenancy.js"
import type { Role } from "./roles.js"

export { DEFAULT_TENANT }

/** Which sensors a device key may write: all of its tenant's, those under a prefix, or a list. */
export type SensorScope =
  | { readonly _tag: "All" }
  | { readonly _tag: "Prefix"; readonly prefix: string }
  | { readonly _tag: "List"; readonly sensors: ReadonlySet<string> }

export interface Principal {
  readonly kind: "device" | "service" | "user" | "bootstrap" | "anonymous"
  /** The key id, or the token's subject. */
  readonly id: string
  readonly tenant: string
  /** Null for a device key: it may only ingest. */
  readonly role: Role | null
  readonly scope: SensorScope
  /**
   * May manage tenants and issue keys in any tenant (the bootstrap key, and everyone when
   * AUTH_MODE=none). Its data (sensors, alerts, feeds, webhooks) is still its own tenant's: it acts
   * in another tenant through a key issued there.
   */
  readonly superuser: boolean
}

export const ALL_SENSORS: SensorScope = { _tag: "All" }

/** Everyone, when AUTH_MODE=none: the default tenant with every right. */
export const ANONYMOUS: Principal = {
  kind: "anonymous",
  id: "anonymous",
  tenant: DEFAULT_TENANT,
  role: "admin",
  scope: ALL_SENSORS,
  superuser: true
}

export const currentPrincipal: FiberRef.FiberRef<Principal> = FiberRef.unsafeMake(ANONYMOUS)

export const inScope = (scope: SensorScope, sensor: string): boolean => {
  switch (scope._tag) {
    case "All":
      return true
    case "Prefix":
      return sensor.startsWith(scope.prefix)
    case "List":
      return scope.sensors.has(sensor)
  }
}

/** How a principal is named in logs and audit fields (`resolvedBy`, `createdBy`): never a secret. */
export const describePrincipal = (p: Principal): string => `${p.kind}:${p.id}`

/** The tenant the current request acts in. */
export const currentTenant: Effect.Effect<string> = Effect.map(FiberRef.get(currentPrincipal), (p) => p.tenant)
