import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { Refusal } from "../../src/http/auth/authenticator.js"
import { ALL_SENSORS, ANONYMOUS, type Principal } from "../../src/http/auth/principal.js"
import { makeTopicIngest } from "../../src/http/device-topic-ingest.js"
import type { Answer } from "../../src/http/errors.js"
import type { IngestFlow, IngestRequest } from "../../src/http/ingest-flow.js"
import { DatabaseUnavailable } from "../../src/storage/errors.js"

const device: Principal = { kind: "device", id: "key_a", tenant: "acme", role: null, scope: { _tag: "Prefix", prefix: "plant-a/" }, superuser: false }
const revoked: Refusal = { _tag: "Refusal", message: "unknown or revoked device key" }

/** A flow that records whom it was called for, and answers 202. */
const recordingFlow = () => {
  const calls: Array<IngestRequest> = []
  const flow: IngestFlow = (_text, request, done) => {
    calls.push(request)
    done({ status: 202, body: { accepted: 1 } })
  }
  return { calls, flow }
}

const answerOf = (take: ReturnType<typeof makeTopicIngest>, deviceId: string, durable = true) =>
  new Promise<Answer>((resolve) => take("{}", deviceId, durable, Date.now(), resolve))

describe("ingest by a topic's device", () => {
  it("takes every device as the anonymous caller when AUTH_MODE=none, with the QoS's ack", async () => {
    const { calls, flow } = recordingFlow()
    const take = makeTopicIngest(flow, { required: false, cachedDevice: () => undefined, resolveDevice: () => Effect.die("not asked") }, 1)
    expect((await answerOf(take, "gw-1", false)).status).toBe(202)
    expect(calls[0]).toMatchObject({ principal: ANONYMOUS, ack: "accepted", shape: "flexible", sensor: null })
  })

  it("writes as the key's tenant and scope, from the cache or looked up once", async () => {
    const { calls, flow } = recordingFlow()
    let lookups = 0
    const take = makeTopicIngest(
      flow,
      { required: true, cachedDevice: (id) => (id === "key_cached" ? device : undefined), resolveDevice: () => Effect.sync(() => {
          lookups++
          return device
        }) },
      1
    )
    expect((await answerOf(take, "key_cached")).status).toBe(202)
    expect(lookups).toBe(0)
    expect((await answerOf(take, "key_a")).status).toBe(202)
    expect(lookups).toBe(1)
    expect(calls.map((c) => [c.principal, c.ack])).toEqual([
      [device, "durable"],
      [device, "durable"]
    ])
    expect(calls[0]!.principal.scope).not.toBe(ALL_SENSORS)
  })

  it("refuses an unknown or revoked key with 401 naming why, and never calls the flow", async () => {
    const { calls, flow } = recordingFlow()
    const cachedRefusal = makeTopicIngest(flow, { required: true, cachedDevice: () => revoked, resolveDevice: () => Effect.die("not asked") }, 1)
    const lookedUp = makeTopicIngest(flow, { required: true, cachedDevice: () => undefined, resolveDevice: () => Effect.succeed(revoked) }, 1)
    for (const take of [cachedRefusal, lookedUp]) {
      const answer = await answerOf(take, "key_gone")
      expect(answer.status).toBe(401)
      expect(answer.body).toMatchObject({ error: "unauthorized", message: "unknown or revoked device key" })
    }
    expect(calls).toEqual([])
  })

  it("answers 503 with Retry-After when the key cannot be looked up (the message is then held and retried)", async () => {
    const { calls, flow } = recordingFlow()
    const take = makeTopicIngest(flow, { required: true, cachedDevice: () => undefined, resolveDevice: () => Effect.fail(new DatabaseUnavailable({ message: "connection refused" })) }, 7)
    const answer = await answerOf(take, "key_a")
    expect(answer.status).toBe(503)
    expect(answer.headers).toEqual({ "retry-after": "7" })
    expect(calls).toEqual([])
  })
})
