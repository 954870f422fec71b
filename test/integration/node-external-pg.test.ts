import { createTestDatabase } from "../support/databases.js"
import { nodeSuite } from "./node-suite.js"

nodeSuite({
  name: "external-pg",
  env: async () => {
    const db = await createTestDatabase("node")
    return { env: { DATABASE_URL: db.url }, cleanup: db.drop }
  }
})
