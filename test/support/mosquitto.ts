/**
 * A private Mosquitto broker for a test that must stop and restart it without touching the
 * machine's: its own config (anonymous, no persistence) on a free loopback port.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { connect as tcpConnect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, killChild } from "./node-process.js"

export interface PrivateMosquitto {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
}

const MOSQUITTO = process.env.MOSQUITTO_BIN ?? "mosquitto"

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = tcpConnect({ port, host: "127.0.0.1" })
    s.once("connect", () => {
      s.destroy()
      resolve(true)
    })
    s.once("error", () => resolve(false))
  })

export const startPrivateMosquitto = async (): Promise<PrivateMosquitto> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "flowmesh-mosquitto-"))
  const config = join(dir, "mosquitto.conf")
  writeFileSync(config, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "max_queued_messages 100000", "log_dest none", ""].join("\n"))
  let child: ChildProcess | null = null
  const start = async () => {
    const proc = spawn(MOSQUITTO, ["-c", config], { stdio: "ignore" })
    child = proc
    const deadline = Date.now() + 10_000
    while (!(await listening(port))) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode} (is it installed? MOSQUITTO_BIN)`)
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within 10 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const stop = async () => {
    await killChild(child)
    child = null
  }
  await start()
  return { url: `mqtt://127.0.0.1:${port}`, port, stop, start }
}
