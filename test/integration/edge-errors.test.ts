/**
 * Every bad input answers a precise 4xx naming the field and the reason, and leaves the node and
 * the sensor actors healthy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createTestDatabase } from "../support/databases.js"
import { getJson, postJson, type RunningNode, startNode } from "../support/node-harness.js"

describe("edge errors", () => {
  let node: RunningNode
  let drop: () => Promise<void>

  beforeAll(async () => {
    const db = await createTestDatabase("edge")
    drop = db.drop
    node = await startNode({ DATABASE_URL: db.url, MAX_BODY_BYTES: "4096", MAX_READINGS_PER_REQUEST: "50" })
  })
  afterAll(async () => {
    await node?.stop()
    await drop?.()
  })

  const post = (body: unknown, path = "/api/v1/readings", headers: Record<string, string> = {}) =>
    postJson(`${node.url}${path}`, body, headers)

  const future = Date.now() + 3_600_000

  it.each([
    ["malformed JSON, with its position", '{"readings": [', 400, "malformed_json", /not valid JSON.*position 14/],
    ["a body that is not { readings }", { sensor: "a", value: 1 }, 422, "validation_failed", /^body: must be an object \{ "readings": \[\.\.\.\] \}/],
    ["readings that is not an array", { readings: 5 }, 422, "validation_failed", /^readings: must be an array/],
    ["a missing value", { readings: [{ sensor: "a" }] }, 422, "validation_failed", /^readings\[0\]\.value: is missing/],
    ["a value that is a string", { readings: [{ sensor: "a", value: "NaN" }] }, 422, "validation_failed", /^readings\[0\]\.value: Expected number/],
    ["a value that overflows to Infinity", '{"readings":[{"sensor":"a","value":1e999}]}', 422, "validation_failed", /^readings\[0\]\.value: must be a finite number/],
    // Two of these in one minute would overflow the bucket's float8 sum and stop the rollup job.
    ["a value too large to sum", '{"readings":[{"sensor":"a","value":1e300}]}', 422, "validation_failed", /^readings\[0\]\.value: must be between -1e200 and 1e200/],
    ["a sensor id with a space", { readings: [{ sensor: "pump 1", value: 1 }] }, 422, "validation_failed", /^readings\[0\]\.sensor: must be 1-128 characters/],
    ["a sensor id too long", { readings: [{ sensor: "x".repeat(129), value: 1 }] }, 422, "validation_failed", /^readings\[0\]\.sensor: must be 1-128/],
    ["an empty sensor id", { readings: [{ sensor: "", value: 1 }] }, 422, "validation_failed", /^readings\[0\]\.sensor/],
    ["ts neither number nor ISO date", { readings: [{ sensor: "a", value: 1, ts: "yesterday" }] }, 422, "validation_failed", /^readings\[0\]\.ts: must be epoch milliseconds/],
    ["ts too far in the future", { readings: [{ sensor: "a", value: 1, ts: future }] }, 422, "validation_failed", /^readings\[0\]\.ts: is \d+ ms in the future; at most 300000 ms/],
    ["an unknown field", { readings: [{ sensor: "a", value: 1, unit: "bar" }] }, 422, "validation_failed", /^readings\[0\]\.unit: is unexpected/],
    ["too many readings", { readings: Array.from({ length: 51 }, () => ({ sensor: "a", value: 1 })) }, 413, "payload_too_large", /51 readings in one request; the limit is 50/],
    ["a body over the size limit", { readings: [{ sensor: "a", value: 1, pad: "x".repeat(5000) }] }, 413, "payload_too_large", /the limit is 4096 bytes/]
  ])("answers %s", async (_, body, status, error, message) => {
    const answer = await post(body)
    expect(answer.status).toBe(status)
    const json = answer.body as { error: string; message: string }
    expect(json.error).toBe(error)
    expect(json.message).toMatch(message)
  })

  it("names every bad reading, not just the first", async () => {
    const answer = await post({ readings: [{ sensor: "ok", value: 1 }, { sensor: "a" }, { sensor: "b", value: "x" }] })
    expect(answer.status).toBe(422)
    const details = (answer.body as { details: { issues: Array<{ path: string }> } }).details
    expect(details.issues.map((i) => i.path)).toEqual(["readings[1].value", "readings[2].value"])
  })

  it("answers 415 for a body that is not JSON", async () => {
    const answer = await post('{"readings":[]}', "/api/v1/readings", { "content-type": "text/plain" })
    expect(answer.status).toBe(415)
    expect(answer.body).toMatchObject({ error: "unsupported_media_type", message: "content-type: expected application/json, got text/plain" })
  })

  it("answers JSON 404 for an unknown route and 405 with Allow for a wrong method", async () => {
    const missing = await getJson(`${node.url}/api/v1/nothing`)
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: "not_found", message: "GET /api/v1/nothing: no such route" })
    const wrong = await fetch(`${node.url}/api/v1/readings`, { method: "GET" })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get("allow")).toBe("POST")
    expect(await wrong.json()).toMatchObject({ error: "method_not_allowed" })
  })

  it("answers 400 naming the parameter for a bad query or ack mode", async () => {
    const badAck = await post({ readings: [{ sensor: "a", value: 1 }] }, "/api/v1/readings?ack=maybe")
    expect(badAck.status).toBe(400)
    expect(badAck.body).toMatchObject({ error: "invalid_request" })
    expect((badAck.body as { message: string }).message).toMatch(/^ack: /)
    const badLimit = await getJson(`${node.url}/api/v1/sensors/a/readings?limit=abc`)
    expect(badLimit.status).toBe(400)
    expect((badLimit.body as { message: string }).message).toMatch(/^limit: /)
  })

  const send = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${node.url}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body })
    })
    return { status: response.status, body: (await response.json()) as { error: string; message: string } }
  }
  const WEBHOOK = JSON.stringify({ url: "http://127.0.0.1:9/hook", secret: "s".repeat(16) })

  it.each([
    ["GET", "/api/v1/sensors/%00", undefined, "id"],
    ["GET", "/api/v1/sensors/%00/readings", undefined, "id"],
    ["DELETE", "/api/v1/sensors/%00", undefined, "id"],
    ["PUT", "/api/v1/sensors/a%1Fb", "{}", "id"],
    ["POST", "/api/v1/sensors/a%7Fb/readings", '{"value":1}', "id"],
    ["GET", "/api/v1/sensors?after=%00", undefined, "after"],
    ["GET", "/api/v1/sensors?prefix=%00", undefined, "prefix"],
    ["GET", "/api/v1/sensors?prefix=%C2%85", undefined, "prefix"],
    ["GET", "/api/v1/alerts?sensor=%00", undefined, "sensor"],
    ["GET", "/api/v1/alerts?rule=x%00", undefined, "rule"],
    ["DELETE", "/api/v1/keys/%00", undefined, "id"],
    ["PUT", "/api/v1/webhooks/w%00", WEBHOOK, "id"],
    ["DELETE", "/api/v1/webhooks/%0A", undefined, "id"],
    ["GET", "/api/v1/dead-letters?webhook=%00", undefined, "webhook"],
    ["PUT", "/api/v1/webhooks/w1", JSON.stringify({ url: "http://127.0.0.1:9/\u0000", secret: "s".repeat(16) }), "url"],
    ["PUT", "/api/v1/webhooks/w1", JSON.stringify({ url: "http://127.0.0.1:9/", secret: "s".repeat(16), sensorPrefix: "\ud800" }), "sensorPrefix"],
    ["POST", "/api/v1/alerts/1/ack", JSON.stringify({ by: "\u0000" }), "by"],
    ["POST", "/api/v1/tenants", JSON.stringify({ id: "t1", name: "ab\u0007" }), "name"]
  ])("answers %s %s (NUL, control characters, lone surrogates) with 400 naming the parameter", async (method, path, body, param) => {
    const answer = await send(method, path, body)
    expect(answer.status).toBe(400)
    expect(answer.body.error).toBe("invalid_request")
    expect(answer.body.message).toMatch(new RegExp(`^${param}: must (not contain control characters|be Unicode text)`))
  })

  it.each([["from=-1e15"], ["to=1e20"], ["to=5e-324"], ["to=1e300"], ["from=-1e300"], ["to=8640000000000001"], ["from=1.5"], ["to=-0"]])(
    "answers a history bound %s outside whole epoch ms with 400 naming the bound and the range",
    async (query) => {
      await post({ readings: [{ sensor: "r/a", value: 1 }] })
      const answer = await send("GET", `/api/v1/sensors/r%2Fa/readings?${query}`)
      expect(answer).toEqual({
        status: 400,
        body: expect.objectContaining({ error: "invalid_request", message: `${query.split("=")[0]}: must be whole epoch milliseconds, 0 to 8640000000000000` })
      })
    }
  )

  it("takes the whole range of epoch ms as history bounds, and alert bounds by the same rule", async () => {
    expect((await send("GET", "/api/v1/sensors/r%2Fa/readings?from=0&to=8640000000000000")).status).toBe(200)
    expect((await send("GET", "/api/v1/alerts?from=-1")).body.message).toBe("from: must be whole epoch milliseconds, 0 to 8640000000000000")
  })

  it.each([
    ["PUT", "/api/v1/sensors/r%2Fa", "{}"],
    ["PUT", "/api/v1/sensors/r%2Fa", ""],
    ["PUT", "/api/v1/webhooks/w1", WEBHOOK],
    ["PUT", "/api/v1/webhooks/w1", ""],
    ["POST", "/api/v1/alerts/1/ack", "{}"],
    ["POST", "/api/v1/readings", '{"readings":[]}']
  ])("answers %s %s with a multipart body %j with 415 at once", async (method, path, body) => {
    const answer = await send(method, path, body, { "content-type": "multipart/form-data; boundary=xyz" })
    expect(answer).toEqual({ status: 415, body: { error: "unsupported_media_type", message: "content-type: expected application/json, got multipart/form-data; boundary=xyz" } })
  })

  it("takes application/json with charset=utf-8 only: +json, other charsets, forms and a missing type answer 415", async () => {
    expect((await send("PUT", "/api/v1/sensors/ct", "{}", { "content-type": "application/json; charset=UTF-8" })).status).toBe(200)
    for (const type of ["application/vnd.flowmesh+json", "application/json; charset=latin1", "application/x-www-form-urlencoded"]) {
      expect((await send("PUT", "/api/v1/sensors/ct", "{}", { "content-type": type })).status, type).toBe(415)
    }
    const untyped = await fetch(`${node.url}/api/v1/sensors/ct`, { method: "PUT", body: new Uint8Array(Buffer.from("{}")) })
    expect(untyped.status).toBe(415)
    expect(await untyped.json()).toMatchObject({ message: "content-type: expected application/json, got none" })
  })

  it("answers an empty body where one is needed with 400 malformed_json", async () => {
    expect(await send("PUT", "/api/v1/sensors/ct", "")).toEqual({ status: 400, body: { error: "malformed_json", message: "body: is empty; expected a JSON document" } })
  })

  it.each([["/api/v1/sensors/%C0%AE", "path"], ["/api/v1/sensors/%ED%A0%80/readings", "path"], ["/api/v1/sensors/%zz", "path"], ["/api/v1/sensors?prefix=%C0%AE", "prefix"]])(
    "answers %s (not percent-encoded UTF-8) with 400 naming %s",
    async (path, part) => {
      expect(await send("GET", path)).toEqual({
        status: 400,
        body: { error: "invalid_request", message: `${part}: is not percent-encoded UTF-8 (a bad %-escape, an overlong form or a surrogate)` }
      })
    }
  )

  it("rejects unknown or invalid sensor config fields by name", async () => {
    const put = (body: unknown) =>
      fetch(`${node.url}/api/v1/sensors/cfg-1`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    const unknown = await put({ windowSize: 10, colour: "red" })
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as { message: string }).message).toMatch(/^colour: is unexpected/)
    const bad = await put({ windowSize: 0 })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toMatch(/^windowSize: /)
    const crossed = await put({ softMin: 10, softMax: 5 })
    expect(crossed.status).toBe(400)
    expect(((await crossed.json()) as { message: string }).message).toMatch(/^softMin: must not be greater than softMax/)
  })

  it("is still healthy and still accepts good readings for the same sensors afterwards", async () => {
    const answer = await post({ readings: [{ sensor: "a", value: 1 }, { sensor: "pump-1", value: 2 }] })
    expect(answer.status).toBe(202)
    expect(answer.body).toMatchObject({ accepted: 2, durable: true, rejected: [] })
    const metrics = await getJson(`${node.url}/metrics`)
    expect(metrics.text).toMatch(/flowmesh_readings_total\{transport="http",outcome="malformed"\} [1-9]/)
  })

  it("answers 404 for a sensor that does not exist, and DELETE removes one with its readings", async () => {
    expect((await getJson(`${node.url}/api/v1/sensors/ghost`)).status).toBe(404)
    await post({ readings: [{ sensor: "doomed", value: 1 }] })
    const del = await fetch(`${node.url}/api/v1/sensors/doomed`, { method: "DELETE" })
    expect(del.status).toBe(204)
    expect((await getJson(`${node.url}/api/v1/sensors/doomed`)).status).toBe(404)
    const rows = await node.sql<{ n: string }>("select count(*) as n from sensors where id = 'doomed'")
    expect(Number(rows[0]?.n)).toBe(0)
  })
})
