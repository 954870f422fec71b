/**
 * A private Mosquitto broker for a test that must stop and restart it without touching the
 * machine's: its own config on a free loopback port; anonymous and without persistence, or with the
 * dynamic-security plugin (no anonymous access, one admin made by `mosquitto_ctrl dynsec init`,
 * its state kept in the broker's own file across a restart, as a real one is).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
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

const DYNSEC_PLUGIN = process.env.MOSQUITTO_DYNSEC_PLUGIN ?? "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"

export interface DynsecAdmin {
  readonly username: string
  readonly password: string
}

export const startPrivateMosquitto = async (options: { readonly dynsec?: DynsecAdmin } = {}): Promise<PrivateMosquitto> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "flowmesh-mosquitto-"))
  const config = join(dir, "mosquitto.conf")
  const lines = [`listener ${port} 127.0.0.1`, "persistence false", "max_queued_messages 100000", "log_dest none"]
  if (options.dynsec === undefined) lines.push("allow_anonymous true")
  else {
    const state = join(dir, "dynamic-security.json")
    execFileSync("mosquitto_ctrl", ["dynsec", "init", state, options.dynsec.username, options.dynsec.password], { stdio: "ignore" })
    lines.push("allow_anonymous false", `plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${state}`)
    // As root, Mosquitto would drop to its own user and could not save its state in this directory.
    if (process.getuid?.() === 0) lines.push("user root")
  }
  writeFileSync(config, [...lines, ""].join("\n"))
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
