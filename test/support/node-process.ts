/** A node as its own OS process (`node --import tsx src/main.ts`), to kill it like production would. */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export interface NodeProcess {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly kill: (signal: NodeJS.Signals) => Promise<number | null>
}

export const spawnNode = async (env: Record<string, string>, readyTimeoutMs = 60_000): Promise<NodeProcess> => {
  const port = await freePort()
  const child = spawn(process.execPath, ["--max-semi-space-size=64", "--import", "tsx", "src/main.ts"], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warning", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node exited during start-up:\n${output}`)
    const ready = await fetch(`${url}/ready`).then((r) => r.status === 200, () => false)
    if (ready) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`node not ready after ${readyTimeoutMs} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    child,
    output: () => output,
    kill: (signal) => {
      child.kill(signal)
      return exited
    }
  }
}

/** SIGKILLs a private server's process (as a crash would) and waits for it to be gone; nothing when it is not running. */
export const killChild = async (child: ChildProcess | null): Promise<void> => {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once("exit", r))
  child.kill("SIGKILL")
  await exited
}
