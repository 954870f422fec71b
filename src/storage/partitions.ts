/**
 * Range partitions of `readings` (by day) and of the rollup tiers (1 min by day, 1 h by month, 1 d
 * by year): created ahead of time so rows never lack a partition in normal operation (there is no
 * default partition to fall into), and dropped whole once past their table's retention (no
 * row-by-row deletes). Runs at start-up and then hourly on every node; both steps are idempotent,
 * and run under one transaction-scoped advisory lock so that nodes starting together take turns
 * (two concurrent CREATE TABLE IF NOT EXISTS of the same table can still collide in the catalog).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../config.js"
import { logInfo } from "../telemetry/log.js"
import { isExpired, partitionsCovering, rangeOfName, retentionCutoff, type Span } from "./partition-plan.js"

const DAY_MS = 86_400_000

/** A time-partitioned table and how long it keeps rows. */
export interface PartitionedTable {
  readonly table: string
  readonly span: Span
  readonly retentionDays: number
}

export interface PartitionSettings {
  /** Raw readings can arrive this far back (their retention) and this far ahead. */
  readonly rawRetentionDays: number
  readonly aheadDays: number
  readonly tables: ReadonlyArray<PartitionedTable>
}

export const partitionSettings = (config: {
  readonly storage: { readonly retentionDays: number; readonly partitionsAheadDays: number }
  readonly rollups: { readonly minuteRetentionDays: number; readonly hourRetentionDays: number; readonly dayRetentionDays: number }
}): PartitionSettings => ({
  rawRetentionDays: config.storage.retentionDays,
  aheadDays: config.storage.partitionsAheadDays,
  tables: [
    { table: "readings", span: "day", retentionDays: config.storage.retentionDays },
    { table: "rollup_1m", span: "day", retentionDays: config.rollups.minuteRetentionDays },
    { table: "rollup_1h", span: "month", retentionDays: config.rollups.hourRetentionDays },
    { table: "rollup_1d", span: "year", retentionDays: config.rollups.dayRetentionDays }
  ]
})

export const maintainPartitions = Effect.fn("Partitions.maintain")(function* (settings: PartitionSettings, now: number) {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`select pg_advisory_xact_lock(hashtext('flowmesh.partitions'))`
      return yield* maintainLocked(sql, settings, now)
    })
  )
})

const maintainLocked = (sql: SqlClient.SqlClient, settings: PartitionSettings, now: number) =>
  Effect.gen(function* () {
    let created = 0
    let dropped = 0
    // Every table needs partitions wherever a raw reading may still arrive: rollups are computed from them.
    const from = retentionCutoff(now, settings.rawRetentionDays)
    const to = now + settings.aheadDays * DAY_MS
    for (const { table, span, retentionDays } of settings.tables) {
      for (const p of partitionsCovering(table, span, from, to)) {
        const rows = yield* sql<{ created: boolean }>`
          select flowmesh_ensure_range_partition(${table}, ${p.name}, ${new Date(p.lo).toISOString()}::timestamptz, ${new Date(p.hi).toISOString()}::timestamptz) as created`
        if (rows[0]?.created === true) created++
      }
      const cutoff = retentionCutoff(now, retentionDays)
      const children = yield* sql<{ name: string }>`
        select c.relname as name from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent
        where p.relname = ${table}`
      for (const { name } of children) {
        const range = rangeOfName(table, span, name)
        if (range !== null && isExpired(range, cutoff)) {
          yield* sql`drop table if exists ${sql(name)}`
          dropped++
        }
      }
    }
    if (created > 0 || dropped > 0) yield* logInfo("partitions maintained", { created, dropped })
    return { created, dropped }
  })

export const PartitionMaintenanceLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const settings = partitionSettings(yield* AppConfig)
    const once = Effect.suspend(() => maintainPartitions(settings, Date.now()))
    yield* once.pipe(Effect.orDie)
    yield* once.pipe(
      Effect.catchAllCause((cause) => Effect.logError("partition maintenance failed", cause)),
      Effect.repeat(Schedule.spaced("1 hour")),
      Effect.delay("1 hour"),
      Effect.forkScoped
    )
  })
)
