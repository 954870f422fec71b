/**
 * Nodes starting together on one database take turns creating its schema. Two concurrent
 * `CREATE TABLE IF NOT EXISTS` of the same table can collide in PostgreSQL's catalog (a duplicate
 * `pg_type` key), and both our migrations and `@effect/cluster`'s treat that as fatal. So a node
 * holds a session advisory lock from before its migrations until its cluster storage exists.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"

const LOCK = "select pg_advisory_lock(hashtext('flowmesh.startup'))"
const UNLOCK = "select pg_advisory_unlock(hashtext('flowmesh.startup'))"

export class StartupLock extends Effect.Service<StartupLock>()("flowmesh/StartupLock", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const connection = yield* sql.reserve
    yield* connection.executeUnprepared(LOCK, [], undefined)
    let held = true
    const release = Effect.suspend(() => {
      if (!held) return Effect.void
      held = false
      return connection.executeUnprepared(UNLOCK, [], undefined)
    }).pipe(Effect.ignore)
    yield* Effect.addFinalizer(() => release)
    return { release } as const
  }).pipe(Effect.orDie)
}) {}

/** Lets the next node in: provide it after the layers that create tables. */
export const ReleaseStartupLock = Layer.effectDiscard(Effect.flatMap(StartupLock, (lock) => lock.release))
