import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { logWarning } from "../telemetry/log.js"

/** PostgreSQL could not be reached or answered with an error; the caller may retry later. */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  message: Schema.String
}) {}

export const orUnavailable = <A, R>(
  effect: Effect.Effect<A, SqlError, R>
): Effect.Effect<A, DatabaseUnavailable, R> =>
  Effect.catchTag(effect, "SqlError", (error) =>
    logWarning("database call failed", { error: error.message }).pipe(
      Effect.zipRight(Effect.fail(new DatabaseUnavailable({ message: "database unavailable" })))
    )
  )
