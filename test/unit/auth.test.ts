/** The edge's authentication pieces as plain functions: credentials, keys, the cache, the policy, key requests. */
import { HttpApi, HttpApiEndpoint } from "@effect/platform"
import { Context, Option } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FlowmeshApi } from "../../src/http/api.js"
import { generateKey, hashKey, keyHint, looksLikeKey, sameSecret } from "../../src/http/auth/api-keys.js"
import { readCredential, selectProtocol, WS_BEARER_PREFIX, WS_PROTOCOL } from "../../src/http/auth/credentials.js"
import { ENDPOINT_ACCESS as ACCESS } from "../../src/http/api.js"
import { accessOf, authorize, RequiredAccess } from "../../src/http/auth/policy.js"
import { ALL_SENSORS, ANONYMOUS, inScope, type Principal } from "../../src/http/auth/principal.js"
import { highestRole, roleAtLeast } from "../../src/http/auth/roles.js"
import { TtlCache } from "../../src/http/auth/ttl-cache.js"
import { keyRequestProblem } from "../../src/http/keys-handlers.js"

const principal = (over: Partial<Principal>): Principal => ({
  kind: "service",
  id: "key_x",
  tenant: "acme",
  role: "viewer",
  scope: ALL_SENSORS,
  superuser: false,
  ...over
})

describe("credentials", () => {
  it("reads a bearer key, a bearer JWT, X-Device-Key, X-API-Key and ?access_token in that order", () => {
    const key = generateKey("device")
    expect(readCredential({ authorization: `Bearer ${key}` })).toEqual({ _tag: "Key", key })
    expect(readCredential({ authorization: "bearer   a.b.c" })).toEqual({ _tag: "Jwt", token: "a.b.c" })
    expect(readCredential({ "x-device-key": key })).toEqual({ _tag: "Key", key })
    expect(readCredential({ "x-api-key": key })).toEqual({ _tag: "Key", key })
    expect(readCredential({}, new URLSearchParams({ access_token: key }))).toEqual({ _tag: "Key", key })
    expect(readCredential({ authorization: `Bearer ${key}`, "x-device-key": "other" })).toEqual({ _tag: "Key", key })
    expect(readCredential({})).toEqual({ _tag: "None" })
  })

  it("reads a credential offered as a WebSocket subprotocol on upgrades only, and answers flowmesh.v1, never the credential", () => {
    const key = generateKey("service")
    const offered = `flowmesh.v1, ${WS_BEARER_PREFIX}${Buffer.from(key).toString("base64url")}`
    expect(readCredential({ "sec-websocket-protocol": offered }, new URLSearchParams())).toEqual({ _tag: "Key", key })
    expect(readCredential({ "sec-websocket-protocol": `${WS_BEARER_PREFIX}${Buffer.from("a.b.c").toString("base64url")}` }, new URLSearchParams())).toEqual({ _tag: "Jwt", token: "a.b.c" })
    // Not on plain requests, and a header or ?access_token comes first.
    expect(readCredential({ "sec-websocket-protocol": offered })).toEqual({ _tag: "None" })
    expect(readCredential({ "sec-websocket-protocol": offered }, new URLSearchParams({ access_token: "fms_other" }))).toEqual({ _tag: "Key", key: "fms_other" })
    expect(readCredential({ "sec-websocket-protocol": `${WS_BEARER_PREFIX}not+base64` }, new URLSearchParams())).toMatchObject({ _tag: "Malformed", message: expect.stringContaining("Sec-WebSocket-Protocol") })
    expect(readCredential({ "sec-websocket-protocol": `${WS_BEARER_PREFIX}${Buffer.from("a b").toString("base64url")}` }, new URLSearchParams())).toMatchObject({ _tag: "Malformed" })
    expect(selectProtocol(new Set([`${WS_BEARER_PREFIX}abc`, WS_PROTOCOL]))).toBe(WS_PROTOCOL)
    expect(selectProtocol(new Set([`${WS_BEARER_PREFIX}abc`, "other"]))).toBe("other")
    expect(selectProtocol(new Set([`${WS_BEARER_PREFIX}abc`]))).toBe(false)
  })

  it("names what is wrong with a malformed credential", () => {
    expect(readCredential({ authorization: "Basic dXNlcjpwYXNz" })).toMatchObject({ _tag: "Malformed", message: expect.stringContaining("Bearer scheme") })
    expect(readCredential({ authorization: "Bearer " })).toMatchObject({ _tag: "Malformed", message: "Authorization: empty credential" })
    expect(readCredential({ "x-device-key": "a b" })).toMatchObject({ _tag: "Malformed", message: expect.stringContaining("X-Device-Key") })
    expect(readCredential({ "x-device-key": "x".repeat(9_000) })).toMatchObject({ _tag: "Malformed" })
  })

  it("never throws, whatever the headers hold", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("authorization", "x-device-key", "x-api-key", "other"), fc.string({ unit: "binary" })), (headers) => {
        const c = readCredential(headers)
        expect(["None", "Key", "Jwt", "Malformed"]).toContain(c._tag)
      })
    )
  })
})

describe("keys", () => {
  it("are 256 random bits behind a kind prefix, recognisable and distinct", () => {
    const a = generateKey("device")
    const b = generateKey("device")
    expect(a).toMatch(/^fmd_[A-Za-z0-9_-]{43}$/)
    expect(generateKey("service")).toMatch(/^fms_/)
    expect(a).not.toBe(b)
    expect(looksLikeKey(a)).toBe(true)
    expect(looksLikeKey(`${a}x`)).toBe(false)
    expect(keyHint(a)).toBe(`${a.slice(0, 10)}…`)
  })

  it("are stored as an HMAC that depends on the pepper", () => {
    const key = generateKey("service")
    const pepper = "p".repeat(32)
    expect(hashKey(pepper, key)).toBe(hashKey(pepper, key))
    expect(hashKey(pepper, key)).toMatch(/^[0-9a-f]{64}$/)
    expect(hashKey("q".repeat(32), key)).not.toBe(hashKey(pepper, key))
    expect(hashKey(pepper, key)).not.toContain(key.slice(4, 20))
  })

  it("compares configured secrets in full", () => {
    expect(sameSecret("abc", "abc")).toBe(true)
    expect(sameSecret("abc", "abd")).toBe(false)
    expect(sameSecret("abc", "abcd")).toBe(false)
  })
})

describe("TtlCache", () => {
  it("expires entries, caps its size oldest first, and forgets matching values", () => {
    const c = new TtlCache<string>(1_000, 2)
    c.set("a", "A", 0)
    expect(c.get("a", 999)).toBe("A")
    expect(c.get("a", 1_000)).toBeUndefined()
    c.set("a", "A", 0)
    c.set("b", "B", 0, 100)
    expect(c.get("b", 100)).toBeUndefined()
    c.set("b", "B", 0)
    c.set("c", "C", 0)
    expect(c.get("a", 1)).toBeUndefined()
    expect(c.size).toBe(2)
    expect(c.deleteWhere((v) => v === "C")).toBe(1)
    expect(c.get("c", 1)).toBeUndefined()
    expect(c.get("b", 1)).toBe("B")
  })

  it("never keeps an entry longer than its TTL, whatever the per-entry TTL asked", () => {
    const c = new TtlCache<number>(50, 10)
    c.set("k", 1, 0, 10_000)
    expect(c.get("k", 50)).toBeUndefined()
  })
})

describe("roles and policy", () => {
  const endpoints: Array<string> = []
  HttpApi.reflect(FlowmeshApi, {
    onGroup: () => {},
    onEndpoint: ({ group, endpoint }) => {
      endpoints.push(`${group.identifier}.${endpoint.name}`)
    }
  })

  it("every endpoint of the API declares its access on its definition; one that does not needs the superuser", () => {
    const undeclared: Array<string> = []
    HttpApi.reflect(FlowmeshApi, {
      onGroup: () => {},
      onEndpoint: ({ group, endpoint }) => {
        if (Option.isNone(Context.getOption(endpoint.annotations, RequiredAccess))) undeclared.push(`${group.identifier}.${endpoint.name}`)
      }
    })
    expect(undeclared).toEqual([])
    expect(Object.keys(ACCESS).sort()).toEqual([...endpoints].sort())
    expect(accessOf(HttpApiEndpoint.get("new", "/new"))).toBe("superuser")
    expect(accessOf(HttpApiEndpoint.get("new", "/new").annotate(RequiredAccess, "viewer"))).toBe("viewer")
  })

  it("orders roles and picks the highest of a token's", () => {
    expect(roleAtLeast("admin", "operator")).toBe(true)
    expect(roleAtLeast("viewer", "operator")).toBe(false)
    expect(highestRole(["viewer", "nonsense", "operator"])).toBe("operator")
    expect(highestRole(["nonsense", 3, null])).toBeNull()
  })

  it("allows by role, devices only to ingest, tenants only to the superuser", () => {
    const viewer = principal({ role: "viewer" })
    const operator = principal({ role: "operator" })
    const admin = principal({ role: "admin" })
    const device = principal({ kind: "device", role: null })
    expect(authorize("viewer", viewer)._tag).toBe("Allowed")
    expect(authorize("operator", viewer)).toEqual({ _tag: "Forbidden", message: "needs role operator; the caller has role viewer" })
    expect(authorize("ingest", viewer)._tag).toBe("Forbidden")
    expect(authorize("ingest", operator)._tag).toBe("Allowed")
    expect(authorize("ingest", device)._tag).toBe("Allowed")
    expect(authorize("viewer", device)).toEqual({ _tag: "Forbidden", message: "needs role viewer; the caller has a device key" })
    expect(authorize("admin", admin)._tag).toBe("Allowed")
    expect(authorize("superuser", admin)._tag).toBe("Forbidden")
    expect(authorize("superuser", ANONYMOUS)._tag).toBe("Allowed")
    expect(authorize("public", device)._tag).toBe("Allowed")
  })

  it("scopes device keys to a prefix or a list", () => {
    expect(inScope({ _tag: "Prefix", prefix: "site-1/" }, "site-1/flow")).toBe(true)
    expect(inScope({ _tag: "Prefix", prefix: "site-1/" }, "site-10/flow")).toBe(false)
    expect(inScope({ _tag: "List", sensors: new Set(["a", "b"]) }, "b")).toBe(true)
    expect(inScope({ _tag: "List", sensors: new Set(["a", "b"]) }, "c")).toBe(false)
    expect(inScope(ALL_SENSORS, "anything")).toBe(true)
  })
})

describe("key requests", () => {
  it("name the field whose combination is wrong", () => {
    expect(keyRequestProblem({ kind: "device", name: "d", role: "admin" })).toMatch(/^role: a device key has no role/)
    expect(keyRequestProblem({ kind: "service", name: "s" })).toMatch(/^role: required/)
    expect(keyRequestProblem({ kind: "service", name: "s", role: "viewer", sensorPrefix: "x" })).toMatch(/^sensorPrefix: only device keys/)
    expect(keyRequestProblem({ kind: "device", name: "d", sensorPrefix: "x", sensors: [] })).toMatch(/^sensors: give sensorPrefix or sensors/)
    expect(keyRequestProblem({ kind: "device", name: "d", sensorPrefix: "site-1/" })).toBeNull()
    expect(keyRequestProblem({ kind: "service", name: "s", role: "operator" })).toBeNull()
  })
})
