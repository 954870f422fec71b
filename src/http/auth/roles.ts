/**
 * Roles, ordered: `viewer` reads and subscribes, `operator` also acknowledges and resolves alerts,
 * edits sensor configuration and ingests as a service, `admin` also manages webhooks and keys.
 * Tenants themselves are managed by the superuser (the bootstrap admin key).
 */
export const ROLES = ["viewer", "operator", "admin"] as const
export type Role = (typeof ROLES)[number]

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 }

export const isRole = (u: unknown): u is Role => typeof u === "string" && (ROLES as ReadonlyArray<string>).includes(u)

export const roleAtLeast = (have: Role, need: Role): boolean => RANK[have] >= RANK[need]

/** The highest known role in a list (a token may carry several); null when none is known. */
export const highestRole = (roles: ReadonlyArray<unknown>): Role | null => {
  let best: Role | null = null
  for (const r of roles) if (isRole(r) && (best === null || RANK[r] > RANK[best])) best = r
  return best
}
