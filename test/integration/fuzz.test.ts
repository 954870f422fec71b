/**
 * The edge under schema-driven and adversarial input (fast-check), against a real node process
 * with authentication on, as the superuser so that requests reach their handlers:
 *
 * - every operation of the node's own OpenAPI document, its parameters and body drawn from their
 *   schemas, valid or with one part made hostile (NUL and control characters, unpaired surrogates,
 *   overlong and broken percent-escapes, numbers at and past every bound, wrong types, extra keys);
 * - hostile framing over raw sockets: chunked and lying lengths, bodies over MAX_BODY_BYTES,
 *   content types the API does not read, unread bodies on keep-alive, pipelining, bad headers;
 * - WebSocket frames for `/ws/devices` and `/ws/live` drawn from their frame schemas, valid or
 *   spoiled, each of which must get exactly one typed answer.
 *
 * Every answer is judged (see support/fuzz-judge.ts): no 5xx, no hang, a documented status, no
 * route miss, an error naming the field at fault, and a keep-alive connection that still serves
 * the next request. The node must stay up and its heap come back near its baseline. FUZZ_RUNS
 * sets the runs per property (CI: 150; `npm run fuzz` for a long run); FUZZ_SEED replays the
 * HTTP property's run with the seed a failure printed.
 */
import * as fc from "fast-check"
import WebSocket from "ws"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { judgeAnswer, NAMES_A_FIELD, requestBytes, Tally, Wire } from "../support/fuzz-judge.js"
import { metricValue } from "../support/metrics.js"
import { type NodeProcess, spawnNode } from "../support/node-process.js"
import { caseOf, hostileJsonText, type OpenApiDocument, type Operation, operationsOf, spoil, instancesOf } from "../support/openapi-cases.js"
import { runScenario, scenario } from "../support/raw-cases.js"
import { openSocket, type TestSocket, wsUrl } from "../support/ws-client.js"

const RUNS = Number(process.env.FUZZ_RUNS ?? 150)
const ADMIN = "fuzz-admin-key-of-at-least-32-characters"
const AUTH = `Bearer ${ADMIN}`
const MAX_BODY_BYTES = 65_536
/** No answer may take longer: a request that gets none within it hangs. */
const ANSWER_TIMEOUT_MS = 10_000
const tally = { http: new Tally(), raw: new Tally(), devices: new Tally(), live: new Tally() }

/** A full garbage collection in the node, through its inspector, so that heap figures are live data only. */
const collectGarbage = (output: string) =>
  new Promise<void>((resolve, reject) => {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1]
    if (url === undefined) {
      reject(new Error("the node's inspector address is not in its output"))
      return
    }
    const ws = new WebSocket(url)
    ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })))
    ws.on("message", (data) => {
      const reply: unknown = JSON.parse(data.toString())
      if (typeof reply === "object" && reply !== null && "id" in reply && reply.id === 1) {
        ws.close()
        resolve()
      }
    })
    ws.once("error", reject)
  })

describe("fuzzing the edge", () => {
  let db: TestDatabase
  let node: NodeProcess
  let port = 0
  let doc: OpenApiDocument
  let operations: ReadonlyArray<Operation> = []
  /** Ids of resources that exist, per path: cases name them more often than made-up ones. */
  let existing: (op: Operation) => fc.Arbitrary<string> | null = () => null
  let baseline = 0

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${node.url}${path}`, {
      method,
      headers: { authorization: AUTH, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(300)
    return text === "" ? null : (JSON.parse(text) as Record<string, unknown>)
  }

  /** Sensors, an open alert, a webhook and a key, so that cases naming them reach a handler that finds them. */
  const seed = async () => {
    const sensors = ["fz-s1", "fz/s2", "fz.s3", "fz:alarm"]
    for (const id of sensors) await api("PUT", `/api/v1/sensors/${encodeURIComponent(id)}`, {})
    await api("PUT", "/api/v1/sensors/fz%3Aalarm", { rules: [{ id: "high", kind: "threshold", high: 10 }] })
    const live: TestSocket = await openSocket(wsUrl(node.url, "/ws/live"), { headers: { authorization: AUTH } })
    live.send({ type: "subscribe", alerts: true })
    await live.next((f) => f.type === "subscribed")
    await api("POST", "/api/v1/readings", { readings: sensors.map((sensor) => ({ sensor, value: 99 })) })
    const opened = await live.next((f) => f.type === "alert")
    await live.close()
    const alertId = String((opened.notification as { alert: { id: number } }).alert.id)
    await api("PUT", "/api/v1/webhooks/fz-hook", { url: "http://127.0.0.1:9/hook", secret: "s".repeat(16), enabled: false })
    const key = await api("POST", "/api/v1/keys", { kind: "device", name: "fuzz" })
    const ids: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["/api/v1/sensors/", sensors],
      ["/devices/", sensors],
      ["/api/v1/alerts/", [alertId]],
      ["/api/v1/webhooks/", ["fz-hook"]],
      ["/api/v1/keys/", [String(key?.id)]]
    ]
    existing = (op) => {
      const pool = ids.find(([prefix]) => op.path.startsWith(prefix))?.[1]
      return pool === undefined ? null : fc.constantFrom(...pool)
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase("fuzz")
    node = await spawnNode({
      DATABASE_URL: db.url,
      AUTH_MODE: "required",
      AUTH_PEPPER: "fuzz-pepper-fuzz-pepper-fuzz-pepper-00",
      AUTH_BOOTSTRAP_ADMIN_KEY: ADMIN,
      RATE_LIMIT_IP_PER_SECOND: "0",
      RATE_LIMIT_KEY_PER_SECOND: "0",
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      HTTP_HEADERS_TIMEOUT_MS: "1000",
      HTTP_REQUEST_TIMEOUT_MS: "1500",
      // Every hostile frame must be answered: the flood limit would close the connection after 20.
      WS_BAD_FRAME_LIMIT: "1000000",
      LIVE_MAX_SUBSCRIPTIONS: "1000000",
      NODE_OPTIONS: "--inspect=127.0.0.1:0"
    })
    port = Number(new URL(node.url).port)
    doc = (await (await fetch(`${node.url}/openapi.json`)).json()) as OpenApiDocument
    operations = operationsOf(doc)
    await seed()
    await collectGarbage(node.output())
    baseline = await metricValue(node.url, "flowmesh_nodejs_heap_size_used_bytes")
  }, 90_000)

  afterAll(async () => {
    for (const [name, t] of Object.entries(tally)) console.log(`fuzz ${name}: ${t.cases} cases, ${t}`)
    await node?.kill("SIGKILL")
    await db?.drop()
  })

  const timeout = 30_000 + RUNS * 200

  it(
    "answers every operation of the contract, valid or with one part hostile, as documented and naming the field at fault",
    async () => {
      const wire = new Wire(port, ANSWER_TIMEOUT_MS, tally.http)
      const cases = fc.constantFrom(...operations).chain((op) => caseOf(doc, op, existing(op)))
      await fc.assert(
        fc.asyncProperty(cases, async (c) => {
          tally.http.cases++
          judgeAnswer(c, await wire.exchange(requestBytes(c, AUTH)), tally.http)
        }),
        { numRuns: RUNS * 4, ...(process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }) }
      )
      wire.close()
      const answered = tally.http.cases
      // Cases reach their handlers: none is a route miss (judged per case), and many succeed.
      expect(tally.http.sum((k) => /^2\d\d$/.test(k)) / answered, tally.http.toString()).toBeGreaterThan(0.15)
      expect(tally.http.sum((k) => / (not_found|method_not_allowed)$/.test(k)), tally.http.toString()).toBe(0)
    },
    timeout
  )

  it(
    "answers hostile framing (chunked, lying lengths, oversized, unread and multipart bodies, bad headers) and keeps what it says it keeps",
    async () => {
      const withBody = operations.filter((op) => op.body !== null)
      const withoutBody = operations.filter((op) => op.body === null)
      const ctx = {
        authorization: AUTH,
        maxBodyBytes: MAX_BODY_BYTES,
        withBody: fc.constantFrom(...withBody).chain((op) => caseOf(doc, op, existing(op), false)),
        withoutBody: fc.constantFrom(...withoutBody).chain((op) => caseOf(doc, op, existing(op), false))
      }
      await fc.assert(
        fc.asyncProperty(scenario(ctx), async (s) => {
          tally.raw.cases++
          await runScenario(port, s, ANSWER_TIMEOUT_MS, tally.raw)
        }),
        { numRuns: RUNS }
      )
    },
    timeout
  )

  /** Frames of `/ws/devices`: `{ type: "readings", seq, readings }` with readings as the contract has them. */
  const deviceFrame = (seq: number) =>
    instancesOf(doc, { type: "array", maxItems: 4, items: { $ref: "#/components/schemas/Reading" } }).map((readings) => ({ type: "readings", seq, readings }))

  const SENTINEL_SEQ = 2 ** 40

  it(
    "answers every device frame, valid or hostile, exactly once with an ack or a typed error (bad-frame limit off)",
    async () => {
      const socket = await openSocket(wsUrl(node.url, "/ws/devices?ack=accepted"), { headers: { authorization: AUTH } })
      let round = 0
      // Every message is an answer: a round takes the next two, and a stray one would be the next round's.
      let cursor = 0
      const frames = fc.nat(2 ** 30).chain((seq) =>
        deviceFrame(seq).chain((frame) =>
          fc.oneof(
            { weight: 3, arbitrary: fc.constant<string | Buffer>(JSON.stringify(frame)) },
            { weight: 3, arbitrary: spoil(frame).map((f) => JSON.stringify(f) ?? "null") },
            { weight: 1, arbitrary: hostileJsonText(JSON.stringify(frame)) },
            { weight: 1, arbitrary: fc.constantFrom<string | Buffer>(Buffer.from([0xc0, 0xae]), JSON.stringify({ ...frame, readings: Array.from({ length: 5_001 }, () => ({ sensor: "fz-s1", value: 1 })) })) }
          )
        )
      )
      await fc.assert(
        fc.asyncProperty(frames, async (frame) => {
          tally.devices.cases++
          const from = cursor
          const sentinel = SENTINEL_SEQ + round++
          // The seq the frame carries, if it is a JSON object with a valid one: its answer must carry it too.
          const owed = seqOf(frame)
          socket.send(frame)
          socket.send({ type: "readings", seq: sentinel, readings: [{ sensor: "fz-s1", value: 1 }] })
          await socket.next(() => socket.frames.length >= from + 2, ANSWER_TIMEOUT_MS, from)
          const answers = socket.frames.slice(from, from + 2)
          cursor = from + 2
          const mine = answers.filter((f) => f.seq !== sentinel)
          expect(answers.filter((f) => f.seq === sentinel).map((f) => f.type), JSON.stringify(answers)).toEqual(["ack"])
          expect(mine, `${String(frame).slice(0, 200)}: ${JSON.stringify(answers)}`).toHaveLength(1)
          const answer = mine[0]!
          tally.devices.add(answer.type === "ack" ? "ack" : `error ${String(answer.code)}`)
          expect(["ack", "error"]).toContain(answer.type)
          expect(answer.code, JSON.stringify(answer)).not.toBe("unavailable")
          expect(answer.seq, JSON.stringify(answer)).toBe(owed ?? undefined)
          if (answer.type === "error") expect(answer.message, JSON.stringify(answer)).toMatch(NAMES_A_FIELD)
        }),
        { numRuns: RUNS }
      )
      // Nothing more comes: the next message answers the next frame.
      socket.send({ type: "readings", seq: 1, readings: [] })
      await socket.next(() => true, ANSWER_TIMEOUT_MS, cursor)
      expect(socket.frames.slice(cursor)).toEqual([{ type: "ack", seq: 1, accepted: 0, durable: true, suspect: [], rejected: [] }])
      expect(socket.ws.readyState).toBe(WebSocket.OPEN)
      await socket.close()
    },
    timeout
  )

  it(
    "answers every dashboard frame, valid or hostile, exactly once with subscribed, unsubscribed or a typed error",
    async () => {
      const socket = await openSocket(wsUrl(node.url, "/ws/live"), { headers: { authorization: AUTH } })
      const liveFrame = instancesOf(doc, {
        type: "object",
        required: ["type", "sensors"],
        properties: {
          type: { enum: ["subscribe", "unsubscribe"] },
          sensors: { type: "array", maxItems: 4, items: { anyOf: [{ $ref: "#/components/schemas/SensorId" }, { type: "string", pattern: "^[A-Za-z0-9._:/-]{1,20}\\*$" }] } },
          alerts: { type: "boolean" }
        }
      })
      const frames = liveFrame.chain((frame) =>
        fc.oneof(
          { weight: 3, arbitrary: fc.constant<string | Buffer>(JSON.stringify(frame)) },
          { weight: 3, arbitrary: spoil(frame).map((f) => JSON.stringify(f) ?? "null") },
          { weight: 1, arbitrary: hostileJsonText(JSON.stringify(frame)) },
          { weight: 1, arbitrary: fc.constant<string | Buffer>(Buffer.from([0xff, 0x00])) }
        )
      )
      const PUSHES = new Set(["readings", "state", "alert", "lagged", "degraded", "recovered"])
      const ANSWERS = new Set(["subscribed", "unsubscribed", "error"])
      let round = 0
      // Pushes aside, every message is an answer: a round takes the next two, a stray one would be the next round's.
      let cursor = 0
      const answersFrom = (from: number) => socket.frames.slice(from).filter((f) => !PUSHES.has(f.type))
      await fc.assert(
        fc.asyncProperty(frames, async (frame) => {
          tally.live.cases++
          const from = cursor
          // A subscription to a sensor of its own answers the sentinel: nothing else names it.
          const sentinel = `fz-live-${round++}`
          const isSentinel = (f: { readonly type: string; readonly [k: string]: unknown }) =>
            f.type === "subscribed" && JSON.stringify(f.sensors) === JSON.stringify([{ sensor: sentinel, state: null }])
          socket.send(frame)
          socket.send({ type: "subscribe", sensors: [sentinel] })
          await socket.next(() => answersFrom(from).length >= 2, ANSWER_TIMEOUT_MS, from)
          const answers = answersFrom(from).slice(0, 2)
          cursor = socket.frames.indexOf(answers[1]!, from) + 1
          expect(answers.filter(isSentinel), JSON.stringify(answers)).toHaveLength(1)
          const mine = answers.filter((f) => !isSentinel(f))
          expect(mine, `${String(frame).slice(0, 200)}: ${JSON.stringify(answers)}`).toHaveLength(1)
          const answer = mine[0]!
          tally.live.add(answer.type === "error" ? `error ${String(answer.code)}` : answer.type)
          expect(ANSWERS.has(answer.type), JSON.stringify(answer)).toBe(true)
          if (answer.type === "error") expect(answer.message, JSON.stringify(answer)).toMatch(NAMES_A_FIELD)
        }),
        { numRuns: RUNS }
      )
      socket.send({ type: "unsubscribe", sensors: ["fz-live-last"] })
      await socket.next(() => answersFrom(cursor).length >= 1, ANSWER_TIMEOUT_MS, cursor)
      expect(answersFrom(cursor)).toEqual([{ type: "unsubscribed", sensors: [], alerts: false }])
      await socket.close()
    },
    timeout
  )

  it("is still up, and its heap came back near its baseline", async () => {
    expect((await fetch(`${node.url}/health`)).status).toBe(200)
    await collectGarbage(node.output())
    const after = await metricValue(node.url, "flowmesh_nodejs_heap_size_used_bytes")
    expect(after - baseline, `live heap grew from ${baseline} to ${after}`).toBeLessThan(32 * 1024 * 1024)
  })
})

/** The seq a device frame's answer must carry: that of a JSON object with a non-negative safe integer one. */
const seqOf = (frame: string | Buffer): number | null => {
  if (typeof frame !== "string") return null
  try {
    const parsed: unknown = JSON.parse(frame)
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !("seq" in parsed)) return null
    // JSON has no -0: the answer says 0.
    return typeof parsed.seq === "number" && Number.isSafeInteger(parsed.seq) && parsed.seq >= 0 ? parsed.seq + 0 : null
  } catch {
    return null
  }
}
