/** Who the caller is, as GET /api/v1/me answers, and what the dashboard offers it. No browser: the contract test loads it. */
import { isRecord } from "./records.js"

/** The caller as the node authenticated it (GET /api/v1/me). */
export interface Me {
  readonly kind: string
  readonly id: string
  readonly tenant: string
  /** viewer, operator or admin; null for a device key. */
  readonly role: string | null
  readonly superuser: boolean
  readonly authMode: string
}

/** Whether the caller may acknowledge and resolve alerts and edit sensors (role operator or above). */
export const mayOperate = (me: Me): boolean => me.superuser || me.role === "operator" || me.role === "admin"

/** How the header names the caller: "viewer · key_Ab12". */
export const describeMe = (me: Me): string => `${me.role ?? me.kind} · ${me.id}${me.tenant === "default" ? "" : ` (${me.tenant})`}`

export const meOf = (u: unknown): Me | null =>
  isRecord(u) &&
  typeof u.kind === "string" &&
  typeof u.id === "string" &&
  typeof u.tenant === "string" &&
  (u.role === null || typeof u.role === "string") &&
  typeof u.superuser === "boolean" &&
  typeof u.authMode === "string"
    ? { kind: u.kind, id: u.id, tenant: u.tenant, role: u.role, superuser: u.superuser, authMode: u.authMode }
    : null
