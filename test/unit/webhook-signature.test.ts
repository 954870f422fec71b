import { createHmac } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { signatureHeaders, verifySignature } from "../../src/alerts/webhooks/signature.js"

const secret = "0123456789abcdef-secret"
const body = JSON.stringify({ id: 42, type: "alert.opened", note: "ünïcode ✓" })
const now = Date.UTC(2026, 4, 1, 12, 0, 0, 750)

const lowercased = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))

describe("webhook signature", () => {
  it("sends event id, type, timestamp in seconds and v1 = HMAC-SHA256(secret, timestamp.body)", () => {
    const h = signatureHeaders(secret, body, 42, "alert.opened", now)
    const ts = String(Math.floor(now / 1000))
    expect(h["X-Flowmesh-Event-Id"]).toBe("42")
    expect(h["X-Flowmesh-Event-Type"]).toBe("alert.opened")
    expect(h["X-Flowmesh-Timestamp"]).toBe(ts)
    expect(h["X-Flowmesh-Signature"]).toBe(`v1=${createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex")}`)
  })

  it("verifies what it signed, with headers in any case, within the tolerance", () => {
    const h = signatureHeaders(secret, body, 42, "alert.opened", now)
    expect(verifySignature(secret, body, h, 300, now)).toBe(true)
    expect(verifySignature(secret, body, lowercased(h), 300, now + 299_000)).toBe(true)
  })

  it("rejects another secret, a changed body, a stale or future timestamp, and missing headers", () => {
    const h = lowercased(signatureHeaders(secret, body, 42, "alert.opened", now))
    expect(verifySignature("another-secret-of-16", body, h, 300, now)).toBe(false)
    expect(verifySignature(secret, `${body} `, h, 300, now)).toBe(false)
    expect(verifySignature(secret, body, h, 300, now + 301_000)).toBe(false)
    expect(verifySignature(secret, body, h, 300, now - 301_000)).toBe(false)
    expect(verifySignature(secret, body, { ...h, "x-flowmesh-timestamp": "12x" }, 300, now)).toBe(false)
    expect(verifySignature(secret, body, { "x-flowmesh-timestamp": h["x-flowmesh-timestamp"] }, 300, now)).toBe(false)
    expect(verifySignature(secret, body, { ...h, "x-flowmesh-signature": "v1=zz" }, 300, now)).toBe(false)
    expect(verifySignature(secret, body, { ...h, "x-flowmesh-signature": "v0=abc" }, 300, now)).toBe(false)
  })

  it("accepts one matching entry among several (secret rotation)", () => {
    const h = lowercased(signatureHeaders(secret, body, 1, "alert.resolved", now))
    const old = lowercased(signatureHeaders("the-old-secret-123", body, 1, "alert.resolved", now))
    const both = { ...h, "x-flowmesh-signature": `${old["x-flowmesh-signature"]}, ${h["x-flowmesh-signature"]}` }
    expect(verifySignature(secret, body, both, 300, now)).toBe(true)
  })

  it("round-trips any body and secret", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16, maxLength: 64 }), fc.string(), (key, text) => {
        const h = signatureHeaders(key, text, 7, "alert.summary", now)
        expect(verifySignature(key, text, h, 1, now)).toBe(true)
        expect(verifySignature(key, `${text}x`, h, 1, now)).toBe(false)
      })
    )
  })
})
