/**
 * Tenants and API keys as rows. Keys are found by their hash (one unique-index probe) and only
 * while not revoked; every other query is scoped to a tenant.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { orUnavailable } from "./errors.js"

export interface KeyRow {
  readonly id: string
  readonly tenant: string
  readonly kind: "device" | "service"
  readonly role: "viewer" | "operator" | "admin" | null
  readonly name: string
  readonly hint: string
  readonly sensorPrefix: string | null
  readonly sensors: ReadonlyArray<string> | null
  readonly createdAt: number
  readonly createdBy: string
  readonly revokedAt: number | null
}

export interface NewKey {
  readonly id: string
  readonly tenant: string
  readonly kind: "device" | "service"
  readonly role: "viewer" | "operator" | "admin" | null
  readonly name: string
  readonly hash: string
  readonly hint: string
  readonly sensorPrefix: string | null
  readonly sensors: ReadonlyArray<string> | null
  readonly createdBy: string
}

export interface TenantRow {
  readonly id: string
  readonly name: string
  readonly createdAt: number
}

const KEY_COLUMNS = `id, tenant, kind, role, name, hint, sensor_prefix as "sensorPrefix", sensors,
  floor(extract(epoch from created_at) * 1000)::float8 as "createdAt", created_by as "createdBy",
  floor(extract(epoch from revoked_at) * 1000)::float8 as "revokedAt"`

export class KeyRepo extends Effect.Service<KeyRepo>()("flowmesh/KeyRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keyColumns = sql.literal(KEY_COLUMNS)
    return {
      findActiveByHash: (hash: string) =>
        sql<KeyRow>`select ${keyColumns} from api_keys where hash = ${hash} and revoked_at is null`.pipe(
          Effect.map((rows) => rows[0] ?? null),
          orUnavailable
        ),
      /** A key by its public id, while not revoked (the MQTT edge knows a device by its key id). */
      findActiveById: (id: string) =>
        sql<KeyRow>`select ${keyColumns} from api_keys where id = ${id} and revoked_at is null`.pipe(
          Effect.map((rows) => rows[0] ?? null),
          orUnavailable
        ),
      /** Which of these ids are device keys not revoked (what the broker's clients must match). */
      activeDeviceIds: (ids: ReadonlyArray<string>) =>
        sql<{ readonly id: string }>`
          select id from api_keys
          where id = any(array(select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))) and kind = 'device' and revoked_at is null`.pipe(
          Effect.map((rows) => new Set(rows.map((r) => r.id))),
          orUnavailable
        ),
      /** Takes back a key that was never handed out (its broker credentials could not be provisioned). */
      remove: (id: string) => sql`delete from api_keys where id = ${id}`.pipe(Effect.asVoid, orUnavailable),
      insert: (k: NewKey) =>
        sql<KeyRow>`
          insert into api_keys (id, tenant, kind, role, name, hash, hint, sensor_prefix, sensors, created_by)
          values (${k.id}, ${k.tenant}, ${k.kind}, ${k.role}, ${k.name}, ${k.hash}, ${k.hint}, ${k.sensorPrefix},
                  ${k.sensors === null ? sql`null` : sql`array(select jsonb_array_elements_text(${JSON.stringify(k.sensors)}::jsonb))`}, ${k.createdBy})
          returning ${keyColumns}`.pipe(
          Effect.map((rows) => rows[0]!),
          orUnavailable
        ),
      list: (tenant: string) =>
        sql<KeyRow>`select ${keyColumns} from api_keys where tenant = ${tenant} order by created_at, id`.pipe(orUnavailable),
      /** The kind of the tenant's active key revoked now, or null when there was none. */
      revoke: (tenant: string, id: string) =>
        sql<{ readonly kind: KeyRow["kind"] }>`
          update api_keys set revoked_at = now() where tenant = ${tenant} and id = ${id} and revoked_at is null returning kind`.pipe(
          Effect.map((rows) => rows[0]?.kind ?? null),
          orUnavailable
        ),
      tenantExists: (id: string) =>
        sql`select 1 from tenants where id = ${id}`.pipe(
          Effect.map((rows) => rows.length > 0),
          orUnavailable
        ),
      /** Null when the tenant already exists. */
      insertTenant: (id: string, name: string) =>
        sql<TenantRow>`
          insert into tenants (id, name) values (${id}, ${name}) on conflict (id) do nothing
          returning id, name, floor(extract(epoch from created_at) * 1000)::float8 as "createdAt"`.pipe(
          Effect.map((rows) => rows[0] ?? null),
          orUnavailable
        ),
      listTenants: () =>
        sql<TenantRow>`select id, name, floor(extract(epoch from created_at) * 1000)::float8 as "createdAt" from tenants order by id`.pipe(
          orUnavailable
        )
    } as const
  })
}) {}
