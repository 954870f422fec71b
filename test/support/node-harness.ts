/**
 * Starts a whole flowmesh node in this process (real HTTP server on a free port, real cluster
 * runtime, real PostgreSQL) with settings given as environment-style variables, as a user would.
 */
import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Context, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import { NodeLive } from "../../src/app.js"
import { AppConfig, appConfig } from "../../src/config.js"

export interface RunningNode {
  readonly url: string
  /** Runs SQL on the node's own database (embedded or external). */
  readonly sql: <R extends object = Record<string, unknown>>(text: string, params?: ReadonlyArray<unknown>) => Promise<ReadonlyArray<R>>
  readonly stop: () => Promise<void>
}

export const loadConfig = (env: Record<string, string>) =>
  Effect.runPromise(
    appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ PORT: "0", HOST: "127.0.0.1", ...env })))))
  )

export const startNode = async (env: Record<string, string>): Promise<RunningNode> => {
  const config = await loadConfig(env)
  const scope = Effect.runSync(Scope.make())
  const layer = NodeLive.pipe(
    Layer.provide(Layer.succeed(AppConfig, config)),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const address = Context.get(context, HttpServer.HttpServer).address
  const port = address._tag === "TcpAddress" ? address.port : 0
  const client = Context.get(context, SqlClient.SqlClient)
  return {
    url: `http://127.0.0.1:${port}`,
    sql: <R extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
      Effect.runPromise(client.unsafe<R>(text, params)),
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export const postJson = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === "" ? null : (JSON.parse(text) as unknown), text }
}

export const getJson = async (url: string) => {
  const response = await fetch(url)
  const text = await response.text()
  const isJson = response.headers.get("content-type")?.includes("json") === true
  return { status: response.status, headers: response.headers, body: isJson && text !== "" ? (JSON.parse(text) as unknown) : null, text }
}
