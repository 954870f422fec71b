/**
 * A private Mosquitto for the MQTT phase, on a free loopback port with its own config (anonymous,
 * no persistence: the broker outlives the node, not the bench), so the machine's broker and other
 * runs never see the bench's traffic. Its queues are bounded far above what the fleet keeps in
 * flight, so that the broker never drops a message it acknowledged.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { freePort } from "./child.js"

export interface Broker {
  readonly url: string
  readonly pid: number
  readonly stop: () => Promise<void>
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" })
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
  })

const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null

export const startBroker = async (): Promise<Broker> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "flowmesh-bench-mosquitto-"))
  const config = join(dir, "mosquitto.conf")
  writeFileSync(
    config,
    [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "max_queued_messages 1000000", "max_queued_bytes 0", "log_dest none", ""].join("\n")
  )
  const proc = spawn(process.env.MOSQUITTO_BIN ?? "mosquitto", ["-c", config], { stdio: "ignore" })
  const kill = () => {
    if (!exited(proc)) proc.kill("SIGTERM")
  }
  process.once("exit", kill)
  const deadline = Date.now() + 10_000
  while (!(await listening(port))) {
    if (exited(proc) || Date.now() > deadline) {
      kill()
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`mosquitto did not listen on ${port} (is it installed? MOSQUITTO_BIN)`)
    }
    await sleep(50)
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: proc.pid ?? 0,
    stop: async () => {
      kill()
      for (let i = 0; i < 50 && !exited(proc); i++) await sleep(100)
      process.removeListener("exit", kill)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
