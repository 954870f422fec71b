/**
 * Which database failures a retry can cure. A lost connection, a serialization failure, a full disk
 * or an administrator's shutdown pass; PostgreSQL refusing the data itself (a data exception, an
 * integrity violation, a program limit) fails the same way every time, so retrying it would wedge
 * the writer behind one bad row forever.
 */

/** SQLSTATE classes that describe the statement's data, not the server's condition. */
const DATA_CLASSES: ReadonlySet<string> = new Set([
  "22", // data exception: out of range, invalid text representation, untranslatable character
  "23", // integrity constraint violation
  "54" // program limit exceeded: too many arguments, statement too complex
])

const SQLSTATE = /^[0-9A-Z]{5}$/

/** The SQLSTATE of the first error in the cause chain that has one (pg puts it on `code`). */
export const sqlStateOf = (error: unknown): string | null => {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code: unknown = Reflect.get(current, "code")
    if (typeof code === "string" && SQLSTATE.test(code)) return code
    current = Reflect.get(current, "cause")
  }
  return null
}

/** True when PostgreSQL refused the statement for its data: the same statement will never pass. */
export const isDataFailure = (error: unknown): boolean => {
  const state = sqlStateOf(error)
  return state !== null && DATA_CLASSES.has(state.slice(0, 2))
}

/** The database's own words for a failure (SQLSTATE and message), not the client's generic wrapper. */
export const describeSqlFailure = (error: { readonly message: string; readonly cause?: unknown }): string => {
  const state = sqlStateOf(error)
  const cause = error.cause
  const detail = cause instanceof Error ? cause.message : error.message
  return state === null ? detail : `${state} ${detail}`
}
