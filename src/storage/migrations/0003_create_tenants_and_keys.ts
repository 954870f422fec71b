import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Tenants and their keys. `api_keys.hash` is HMAC-SHA256(pepper, key) in hex: the key itself is shown
 * once at creation and never stored; the pepper lives in the node's configuration, not here. A
 * device key may be bound to a sensor-id prefix or a list of sensors. Revoked keys stay (with
 * `revoked_at`) so that a listing shows what was revoked and when.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    create table tenants (
      id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
      name text not null,
      created_at timestamptz not null default now()
    )`
  yield* sql`insert into tenants (id, name) values ('default', 'Default tenant')`
  yield* sql`
    create table api_keys (
      id text primary key,
      tenant text not null references tenants (id),
      kind text not null check (kind in ('device', 'service')),
      role text check (role in ('viewer', 'operator', 'admin')),
      name text not null,
      hash text not null unique,
      hint text not null,
      sensor_prefix text,
      sensors text[],
      created_at timestamptz not null default now(),
      created_by text not null,
      revoked_at timestamptz,
      check ((kind = 'device') = (role is null))
    )`
  yield* sql`create index api_keys_tenant on api_keys (tenant, created_at)`
})
