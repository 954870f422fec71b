/**
 * Debian's Chromium (/usr/bin/chromium, installed by .ci/run) driven by playwright-core, with the
 * flags this machine needs (closed network, root; see the machine notes) and a fresh profile that
 * `close` removes.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"

export const CHROMIUM = "/usr/bin/chromium"
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

export interface Browser {
  readonly context: BrowserContext
  readonly close: () => Promise<void>
}

export const launchChromium = async (viewport?: { readonly width: number; readonly height: number }): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  const profile = mkdtempSync(join(tmpdir(), "flowmesh-chromium-"))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, ...(viewport === undefined ? {} : { viewport }) })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}
