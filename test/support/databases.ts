/**
 * Real PostgreSQL for integration tests: a fresh database per test file on the machine's server
 * (127.0.0.1:5432, user postgres, db test), dropped afterwards. Never skipped: an unreachable server
 * fails the test with a message saying so.
 */
import pg from "pg"

export const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"

const withClient = async <A>(url: string, f: (c: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  try {
    await client.connect()
  } catch (e) {
    throw new Error(`PostgreSQL at ${url} is unreachable (integration tests need it): ${String(e)}`)
  }
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

export interface TestDatabase {
  readonly url: string
  readonly name: string
  /** A connection to the server's admin database, to act on this one from outside. */
  readonly admin: string
  readonly drop: () => Promise<void>
}

export const createTestDatabase = async (label: string): Promise<TestDatabase> => {
  const name = `flowmesh_${label}_${process.pid}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_")
  await withClient(ADMIN_URL, (c) => c.query(`create database ${name}`))
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    name,
    admin: ADMIN_URL,
    drop: () => withClient(ADMIN_URL, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined)
  }
}

export const query = <R extends pg.QueryResultRow>(url: string, text: string, params: ReadonlyArray<unknown> = []) =>
  withClient(url, (c) => c.query<R>(text, [...params]).then((r) => r.rows))

/**
 * Takes a SHARE lock on `table` in a session of its own and holds it until `release`: the node's
 * statements that write the table (the writer's flush, for `readings`) wait behind it, as behind
 * a stalled disk, while reads and every other table (the cluster's shard locks) go on. Releasing
 * twice is harmless.
 */
export const lockTable = async (url: string, table: string): Promise<{ readonly release: () => Promise<void> }> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  await client.connect()
  await client.query("begin")
  await client.query(`lock table ${table} in share mode`)
  let held = true
  return {
    release: async () => {
      if (!held) return
      held = false
      await client.query("rollback")
      await client.end()
    }
  }
}
