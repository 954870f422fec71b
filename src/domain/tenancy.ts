/**
 * Tenants inside the node. A sensor id is unique per tenant; inside the cluster, the database and
 * Redis, a sensor of tenant `acme` is known as `acme~<id>` (its entity id, its `sensors.id`, its
 * live topic), and a sensor of the default tenant keeps its bare id, so a single-tenant install
 * never sees the prefix. `~` is outside both alphabets (sensor ids `[A-Za-z0-9._:/-]`, tenant ids
 * `[a-z0-9-]`), so the mapping is unambiguous both ways. The edge maps every id in and out: a caller
 * only ever names and sees its own tenant's ids, and another tenant's sensor is simply not there.
 * Webhook ids are scoped the same way. Plain functions, no allocation for the default tenant.
 */
import { type Brand, Schema } from "effect"

/**
 * An id inside the node (a sensor's, a webhook's, a notifier's): made only by `internalId` from a
 * tenant and the id it knows, or read back from where the node stored one. A brand, so a tenant's
 * own id cannot be handed where the node's is meant; it costs nothing at run time.
 */
export type InternalId = string & Brand.Brand<"InternalId">

/** The same brand as a schema, for ids that cross a process boundary (cluster messages). */
export const InternalIdSchema = Schema.String.pipe(Schema.brand("InternalId"))

/** An id the node stored itself (PostgreSQL, a cluster message), taken as internal. */
export const storedInternalId = (id: string): InternalId => id as InternalId

export const DEFAULT_TENANT = "default"
export const TENANT_SEPARATOR = "~"

/**
 * The id inside the node of a tenant's `id` (a sensor, a webhook, a notifier's site). Total: an `id`
 * that itself holds the separator (never a valid id, so nothing by it exists) maps to an id no
 * tenant can ever have created (`default~acme~x`, `acme~beta~x`), so naming another tenant's
 * internal id finds nothing instead of its sensor.
 */
export const internalId = (tenant: string, id: string): InternalId =>
  (tenant === DEFAULT_TENANT && !id.includes(TENANT_SEPARATOR) ? id : `${tenant}${TENANT_SEPARATOR}${id}`) as InternalId

/** The id the tenant knows. */
export const externalId = (internal: string): string => {
  const at = internal.indexOf(TENANT_SEPARATOR)
  return at < 0 ? internal : internal.slice(at + 1)
}

/** The tenant an internal id belongs to. */
export const tenantOf = (internal: string): string => {
  const at = internal.indexOf(TENANT_SEPARATOR)
  return at < 0 ? DEFAULT_TENANT : internal.slice(0, at)
}

/**
 * Whether a prefix topic (inside the node) that textually starts `sensor` would reach past its
 * tenant to it, and so must not cover it. A tenant's prefixes hold the separator and never reach
 * past their tenant; a default tenant's prefix such as `acme` must not cover `acme~pump` (tenant
 * acme's `pump`). O(1): the sensor's separator, if any, must lie inside the prefix.
 */
export const prefixCrossesTenant = (prefix: string, sensor: string): boolean => sensor.indexOf(TENANT_SEPARATOR) >= prefix.length

/** The same expression in SQL (a generated `tenant` column of sensors, alerts and webhooks). */
export const TENANT_OF_SQL = (column: string): string =>
  `(case when strpos(${column}, '${TENANT_SEPARATOR}') > 0 then split_part(${column}, '${TENANT_SEPARATOR}', 1) else '${DEFAULT_TENANT}' end)`
