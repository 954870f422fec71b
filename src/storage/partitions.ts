/**
 * Daily partitions of `readings`: created ahead of time so inserts never land in the default
 * partition in normal operation, and dropped whole once past the retention (no row-by-row deletes).
 * Runs at start-up and then hourly on every node; both steps are idempotent, and run under one
 * transaction-scoped advisory lock so that nodes starting together take turns (two concurrent
 * CREATE TABLE IF NOT EXISTS of the same table can still collide in PostgreSQL's catalog).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { logInfo } from "../telemetry/log.js"

const DAY_MS = 86_400_000

const dayString = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

export const maintainPartitions = Effect.fn("Partitions.maintain")(function* (
  retentionDays: number,
  aheadDays: number,
  now: number
) {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`select pg_advisory_xact_lock(hashtext('flowmesh.partitions'))`
      return yield* maintainLocked(sql, retentionDays, aheadDays, now)
    })
  )
})

const maintainLocked = (sql: SqlClient.SqlClient, retentionDays: number, aheadDays: number, now: number) =>
  Effect.gen(function* () {
  let created = 0
  for (let d = -retentionDays; d <= aheadDays; d++) {
    const rows = yield* sql<{ created: boolean }>`select flowmesh_ensure_partition(${dayString(now + d * DAY_MS)}::date) as created`
    if (rows[0]?.created === true) created++
  }
  const cutoff = dayString(now - retentionDays * DAY_MS).replaceAll("-", "")
  const old = yield* sql<{ name: string }>`
    select c.relname as name from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname = 'readings' and c.relname ~ '^readings_[0-9]{8}$'
      and substring(c.relname from 10) < ${cutoff}`
  for (const { name } of old) {
    yield* sql`drop table if exists ${sql(name)}`
  }
  if (created > 0 || old.length > 0) {
    yield* logInfo("readings partitions maintained", { created, dropped: old.length })
  }
  })

export const PartitionMaintenanceLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { storage } = yield* AppConfig
    const once = Effect.suspend(() => maintainPartitions(storage.retentionDays, storage.partitionsAheadDays, Date.now()))
    yield* once.pipe(Effect.orDie)
    yield* once.pipe(
      Effect.catchAllCause((cause) => Effect.logError("partition maintenance failed", cause)),
      Effect.repeat(Schedule.spaced("1 hour")),
      Effect.delay("1 hour"),
      Effect.forkScoped
    )
  })
)
