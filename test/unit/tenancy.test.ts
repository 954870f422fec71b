import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { notifierOf } from "../../src/actors/notifier-protocol.js"
import { SENSOR_ID_PATTERN } from "../../src/domain/sensor-id.js"
import { DEFAULT_TENANT, externalId, internalId, prefixCrossesTenant, tenantOf } from "../../src/domain/tenancy.js"

const sensorId = fc.stringMatching(SENSOR_ID_PATTERN)
const tenant = fc.oneof(fc.constant(DEFAULT_TENANT), fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/))

describe("tenancy", () => {
  it("keeps the default tenant's ids as they are and prefixes every other tenant's", () => {
    expect(internalId(DEFAULT_TENANT, "site-1/flow")).toBe("site-1/flow")
    expect(internalId("acme", "site-1/flow")).toBe("acme~site-1/flow")
    expect(externalId("acme~site-1/flow")).toBe("site-1/flow")
    expect(tenantOf("acme~site-1/flow")).toBe("acme")
    expect(tenantOf("site-1/flow")).toBe(DEFAULT_TENANT)
  })

  it("property: a valid id round-trips through its tenant, and two (tenant, id) pairs never share an id inside the node", () => {
    fc.assert(
      fc.property(tenant, sensorId, tenant, sensorId, (t1, id1, t2, id2) => {
        const a = internalId(t1, id1)
        expect(externalId(a)).toBe(id1)
        expect(tenantOf(a)).toBe(t1)
        if (t1 !== t2 || id1 !== id2) expect(internalId(t2, id2)).not.toBe(a)
      }),
      { numRuns: 2_000 }
    )
  })

  it("property: an id holding the separator (never valid) maps to no valid id of any tenant", () => {
    fc.assert(
      fc.property(tenant, tenant, sensorId, tenant, sensorId, (caller, owner, ownerId, t, id) => {
        const forged = internalId(caller, internalId(owner, ownerId))
        if (owner !== DEFAULT_TENANT) expect(forged).not.toBe(internalId(t, id))
      }),
      { numRuns: 2_000 }
    )
  })

  it("lets a prefix reach only its own tenant's sensors", () => {
    expect(prefixCrossesTenant("acme", "acme~pump")).toBe(true)
    expect(prefixCrossesTenant("acme", "acme-plant/pump")).toBe(false)
    expect(prefixCrossesTenant("acme~si", "acme~site-1")).toBe(false)
    expect(prefixCrossesTenant("a", "abc")).toBe(false)
  })

  it("gives every tenant its own notifier per site", () => {
    expect(notifierOf("site-7/pump")).toBe("site-7")
    expect(notifierOf("pump")).toBe("_")
    expect(notifierOf("acme~site-7/pump")).toBe("acme~site-7")
    expect(notifierOf("acme~pump")).toBe("acme~_")
  })
})
