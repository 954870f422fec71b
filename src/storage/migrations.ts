/**
 * Numbered migrations, run at start-up by `@effect/sql`'s Migrator. The same SQL runs on the
 * embedded PostgreSQL and on an external one.
 */
import { Migrator } from "@effect/sql"
import { Effect, Layer } from "effect"
import m0001 from "./migrations/0001_create_sensors_and_readings.js"
import m0002 from "./migrations/0002_create_alerts.js"
import m0003 from "./migrations/0003_create_tenants_and_keys.js"
import m0004 from "./migrations/0004_scope_rows_by_tenant.js"
import m0005 from "./migrations/0005_fan_out_from_rows.js"
import m0006 from "./migrations/0006_create_rollups.js"
import m0007 from "./migrations/0007_cover_rollup_reads.js"
import { logInfo } from "../telemetry/log.js"

const run = Migrator.make({})

export const MigrationsLive = Layer.effectDiscard(
  run({
    loader: Migrator.fromRecord({
      "0001_create_sensors_and_readings": m0001, "0002_create_alerts": m0002, "0003_create_tenants_and_keys": m0003,
      "0004_scope_rows_by_tenant": m0004, "0005_fan_out_from_rows": m0005, "0006_create_rollups": m0006,
      "0007_cover_rollup_reads": m0007
    }),
    table: "flowmesh_migrations"
  }).pipe(
    Effect.tap((ran) =>
      ran.length > 0 ? logInfo("migrations applied", { migrations: ran.map(([id, name]) => `${id}_${name}`) }) : Effect.void
    ),
    Effect.orDie
  )
)
