/** HTTP for the driver: one keep-alive undici pool per target, bounded connections, text bodies. */
import { Pool } from "undici"

export interface Answer {
  readonly status: number
  readonly text: string
}

export const makePool = (origin: string, connections: number): Pool =>
  new Pool(origin, { connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000, keepAliveTimeout: 30_000 })

export const post = async (pool: Pool, path: string, body: string): Promise<Answer> => {
  const r = await pool.request({ path, method: "POST", headers: { "content-type": "application/json" }, body })
  return { status: r.statusCode, text: await r.body.text() }
}

export const get = async (pool: Pool, path: string): Promise<Answer> => {
  const r = await pool.request({ path, method: "GET" })
  return { status: r.statusCode, text: await r.body.text() }
}

export const errorCode = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : e instanceof Error ? e.name : "error"
