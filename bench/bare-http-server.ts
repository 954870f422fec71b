/**
 * The HTTP ceiling of this machine for the ingest request shape: a plain `node:http` server that
 * reads the body, JSON.parses it, touches every reading, and answers 202 with a small JSON body.
 * No validation, no actors, no database. Run as a child of the bench: PORT from the environment;
 * any GET answers 200 (readiness); SIGTERM closes it.
 */
import { createServer } from "node:http"

const port = Number(process.env.PORT ?? "0")

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Counts the readings that look like readings; sums their values so the work is not optimised out. */
const touch = (body: unknown): { readonly count: number; readonly sum: number } => {
  let count = 0
  let sum = 0
  const readings = isRecord(body) ? body.readings : undefined
  if (!Array.isArray(readings)) return { count, sum }
  for (const r of readings) {
    if (isRecord(r) && typeof r.sensor === "string" && typeof r.ts === "number" && typeof r.value === "number") {
      count++
      sum += r.value
    }
  }
  return { count, sum }
}

let checksum = 0

const server = createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok")
    return
  }
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    let parsed: unknown
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      res.end('{"error":"malformed_json"}')
      return
    }
    const { count, sum } = touch(parsed)
    checksum += sum
    res.writeHead(202, { "content-type": "application/json" })
    res.end(JSON.stringify({ accepted: count, durable: true, suspect: [], rejected: [] }))
  })
})

server.keepAliveTimeout = 60_000
server.listen(port, "127.0.0.1")

process.once("SIGTERM", () => {
  server.close(() => process.exit(Number.isNaN(checksum) ? 1 : 0))
  server.closeAllConnections()
})
