/**
 * Who may call what: each endpoint of the API carries the access it needs as an annotation of its
 * definition (RequiredAccess), checked by the edge before the handler runs and shown in the
 * OpenAPI document. An endpoint without one needs the superuser (deny by default), and a unit test
 * fails until it gets one, so an endpoint added later cannot slip past the middleware.
 */
import { HttpApi, type HttpApiGroup } from "@effect/platform"
import { Context, Option } from "effect"
import type { Principal } from "./principal.js"
import { type Role, roleAtLeast } from "./roles.js"

/**
 * `public`: no credential; `authenticated`: every credential the node accepts, a device key's
 * included; `ingest`: a device key, or a service or user of role operator or above.
 */
export type Access = "public" | "authenticated" | "ingest" | Role | "superuser"

/**
 * The access an endpoint needs, attached to its definition (`.annotate(RequiredAccess, "viewer")`),
 * so an endpoint and its policy are declared together; one without it needs the superuser.
 */
export class RequiredAccess extends Context.Tag("flowmesh/RequiredAccess")<RequiredAccess, Access>() {}

/** The access of an endpoint definition: its annotation, or the superuser (deny by default). */
export const accessOf = (endpoint: { readonly annotations: Context.Context<never> }): Access => Option.getOrElse(Context.getOption(endpoint.annotations, RequiredAccess), () => "superuser" as const)

/** Every endpoint's access by `group.endpoint` (its OpenAPI operationId). */
export const accessTable = (api: HttpApi.HttpApi.Any): Record<string, Access> => {
  const table: Record<string, Access> = {}
  HttpApi.reflect(api as HttpApi.HttpApi<string, HttpApiGroup.HttpApiGroup.Any, never, never>, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group }) => {
      table[`${group.identifier}.${endpoint.name}`] = accessOf(endpoint)
    }
  })
  return table
}

export type Decision = { readonly _tag: "Allowed" } | { readonly _tag: "Forbidden"; readonly message: string }

const ALLOWED: Decision = { _tag: "Allowed" }

const who = (p: Principal) => (p.role === null ? `a ${p.kind} key` : `role ${p.role}`)

export const authorize = (access: Access, p: Principal): Decision => {
  if (access === "public" || access === "authenticated" || p.superuser) return ALLOWED
  if (access === "superuser") return { _tag: "Forbidden", message: `needs the superuser (the bootstrap admin key); the caller has ${who(p)}` }
  if (access === "ingest") {
    if (p.kind === "device" || (p.role !== null && roleAtLeast(p.role, "operator"))) return ALLOWED
    return { _tag: "Forbidden", message: `ingest needs a device key or role operator; the caller has ${who(p)}` }
  }
  if (p.role !== null && roleAtLeast(p.role, access)) return ALLOWED
  return { _tag: "Forbidden", message: `needs role ${access}; the caller has ${who(p)}` }
}
