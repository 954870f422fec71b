/**
 * Who may call what: one entry per API endpoint (`group.endpoint`), checked by the edge before the
 * handler runs. An endpoint without an entry needs the superuser (deny by default), and a unit test
 * fails until it gets one, so an endpoint added later cannot slip past the middleware.
 */
import type { Principal } from "./principal.js"
import { type Role, roleAtLeast } from "./roles.js"

/** `public`: no credential; `ingest`: a device key, or a service or user of role operator or above. */
export type Access = "public" | "ingest" | Role | "superuser"

export const ACCESS: Readonly<Record<string, Access>> = {
  "ingest.postReadings": "ingest",
  "ingest.postSensorReadings": "ingest",
  "ingest.postIngestReadings": "ingest",
  "ingest.postDeviceReadings": "ingest",
  "sensors.list": "viewer",
  "sensors.get": "viewer",
  "sensors.history": "viewer",
  "sensors.put": "operator",
  "sensors.delete": "operator",
  "alerts.list": "viewer",
  "alerts.get": "viewer",
  "alerts.ack": "operator",
  "alerts.resolve": "operator",
  "webhooks.list": "admin",
  "webhooks.put": "admin",
  "webhooks.delete": "admin",
  "webhooks.deadLetters": "operator",
  "webhooks.replay": "admin",
  "keys.create": "admin",
  "keys.list": "admin",
  "keys.revoke": "admin",
  "tenants.create": "superuser",
  "tenants.list": "superuser",
  "system.health": "public",
  "system.ready": "public",
  "system.metrics": "public"
}

export const accessOf = (endpoint: string): Access => ACCESS[endpoint] ?? "superuser"

export type Decision = { readonly _tag: "Allowed" } | { readonly _tag: "Forbidden"; readonly message: string }

const ALLOWED: Decision = { _tag: "Allowed" }

const who = (p: Principal) => (p.role === null ? `a ${p.kind} key` : `role ${p.role}`)

export const authorize = (access: Access, p: Principal): Decision => {
  if (access === "public" || p.superuser) return ALLOWED
  if (access === "superuser") return { _tag: "Forbidden", message: `needs the superuser (the bootstrap admin key); the caller has ${who(p)}` }
  if (access === "ingest") {
    if (p.kind === "device" || (p.role !== null && roleAtLeast(p.role, "operator"))) return ALLOWED
    return { _tag: "Forbidden", message: `ingest needs a device key or role operator; the caller has ${who(p)}` }
  }
  if (p.role !== null && roleAtLeast(p.role, access)) return ALLOWED
  return { _tag: "Forbidden", message: `needs role ${access}; the caller has ${who(p)}` }
}
