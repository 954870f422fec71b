/** A private redis-server for a test that must stop and restart Redis without touching the machine's. */
import { type ChildProcess, spawn } from "node:child_process"
import { Redis } from "ioredis"
import { freePort, killChild } from "./node-process.js"

export interface PrivateRedis {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
}

const waitForPing = async (url: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on("error", () => {})
    const ok = await client.connect().then(
      () => client.ping().then((p) => p === "PONG"),
      () => false
    )
    client.disconnect()
    if (ok) return
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | null = null
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" })
    await waitForPing(url)
  }
  const stop = async () => {
    await killChild(child)
    child = null
  }
  await start()
  return { url, port, stop, start }
}
