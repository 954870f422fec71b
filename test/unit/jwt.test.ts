/**
 * JWT verification with jose: HS256 with a shared secret, and ES256 against a JWKS served by a real
 * HTTP server on 127.0.0.1 (the way an identity provider publishes its keys).
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeJwtVerifier, principalOfClaims } from "../../src/http/auth/jwt.js"

const SECRET = "an-hs256-secret-of-at-least-32-chars!"
const hs = new TextEncoder().encode(SECRET)

const sign = (claims: Record<string, unknown>, expiresIn: string | number = "5m") =>
  new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime(expiresIn).sign(hs)

describe("JWT claims", () => {
  it("make a user principal of the token's tenant and highest role", () => {
    const r = principalOfClaims({ sub: "alice", tenant: "acme", roles: ["viewer", "operator"], exp: 2_000_000_000 })
    expect(r).toEqual({
      ok: true,
      principal: { kind: "user", id: "alice", tenant: "acme", role: "operator", scope: { _tag: "All" }, superuser: false },
      expiresAt: 2_000_000_000_000
    })
  })

  it("say which claim is missing", () => {
    expect(principalOfClaims({ tenant: "acme", role: "viewer" })).toEqual({ ok: false, message: "token: the sub claim is missing" })
    expect(principalOfClaims({ sub: "a", tenant: "ACME!", role: "viewer" })).toMatchObject({ ok: false, message: expect.stringContaining("tenant claim") })
    expect(principalOfClaims({ sub: "a", tenant: "acme", role: "root" })).toMatchObject({ ok: false, message: expect.stringContaining("no role claim") })
  })
})

describe("HS256", () => {
  const verify = makeJwtVerifier({ secret: SECRET, jwksUrl: null, issuer: "https://idp.example", audience: "flowmesh" })!

  it("accepts a token signed with the secret, for the configured issuer and audience", async () => {
    const token = await new SignJWT({ tenant: "acme", role: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("svc-1")
      .setIssuer("https://idp.example")
      .setAudience("flowmesh")
      .setExpirationTime("1m")
      .sign(hs)
    expect(await verify(token)).toMatchObject({ ok: true, principal: { id: "svc-1", tenant: "acme", role: "admin" } })
  })

  it("refuses expired, foreign, unsigned and mis-addressed tokens, saying why", async () => {
    const base = { sub: "a", tenant: "acme", role: "viewer", iss: "https://idp.example", aud: "flowmesh" }
    expect(await verify(await sign(base, Math.floor(Date.now() / 1000) - 60))).toEqual({ ok: false, message: "token: expired" })
    const foreign = await new SignJWT(base).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(40)))
    expect(await verify(foreign)).toEqual({ ok: false, message: "token: signature does not verify" })
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(base)).toString("base64url")}.`
    expect(await verify(none)).toMatchObject({ ok: false })
    expect(await verify(await sign({ ...base, aud: "other" }))).toEqual({ ok: false, message: "token: claim aud does not match" })
    expect(await verify(await sign({ ...base, iss: "https://evil.example" }))).toEqual({ ok: false, message: "token: claim iss does not match" })
  })

  it("is off when neither a secret nor a JWKS URL is set", () => {
    expect(makeJwtVerifier({ secret: null, jwksUrl: null, issuer: null, audience: null })).toBeNull()
  })
})

describe("ES256 with a JWKS URL", () => {
  let server: Server
  let url = ""
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"]

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256")
    privateKey = pair.privateKey
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" }
    server = createServer((_, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })))
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const { port } = server.address() as AddressInfo
    url = `http://127.0.0.1:${port}/.well-known/jwks.json`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it("verifies a token signed by the identity provider's key and refuses an HS256 one", async () => {
    const verify = makeJwtVerifier({ secret: SECRET, jwksUrl: url, issuer: null, audience: null })!
    const token = await new SignJWT({ tenant: "acme", role: "viewer" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setSubject("bob").setExpirationTime("1m").sign(privateKey)
    expect(await verify(token)).toMatchObject({ ok: true, principal: { id: "bob", role: "viewer" } })
    expect(await verify(await sign({ sub: "a", tenant: "acme", role: "admin" }))).toEqual({ ok: false, message: "token: algorithm not allowed" })
  })
})
