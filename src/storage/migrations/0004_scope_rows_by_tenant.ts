import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { TENANT_OF_SQL } from "../../domain/tenancy.js"

/**
 * Tenant isolation in the rows. Sensor, alert and webhook ids inside the node carry their tenant
 * (`acme~pump-1`, the default tenant's bare: see `src/domain/tenancy.ts`); a generated `tenant`
 * column spells it out so that every listing filters on an indexed column instead of a pattern,
 * and no row can disagree with its id. Readings, deliveries and dead letters hang off those rows.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`alter table sensors add column tenant text not null generated always as ${TENANT_OF_SQL("id")} stored`)
  yield* sql`create index sensors_tenant_id on sensors (tenant, id)`
  yield* sql.unsafe(`alter table alerts add column tenant text not null generated always as ${TENANT_OF_SQL("sensor")} stored`)
  yield* sql`create index alerts_tenant_id on alerts (tenant, id)`
  yield* sql.unsafe(`alter table webhooks add column tenant text not null generated always as ${TENANT_OF_SQL("id")} stored`)
})
