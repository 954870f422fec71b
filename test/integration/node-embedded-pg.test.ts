import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { nodeSuite } from "./node-suite.js"

nodeSuite({
  name: "embedded-pg",
  env: async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "flowmesh-embedded-"))
    return { env: { DATA_DIR: dataDir }, cleanup: () => rm(dataDir, { recursive: true, force: true }) }
  }
})
