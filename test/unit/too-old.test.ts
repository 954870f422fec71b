import { ConfigProvider, Effect, Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { appConfig } from "../../src/config.js"
import { oldestKeptTs, splitTooOld } from "../../src/ingest/too-old.js"

const DAY = 86_400_000

describe("readings older than raw retention", () => {
  it("keeps from the start (UTC) of the oldest retained day, the day whose partition retention keeps", () => {
    const now = Date.UTC(2026, 11, 5, 13, 7)
    expect(oldestKeptTs(now, 7)).toBe(Date.UTC(2026, 10, 28))
    expect(oldestKeptTs(Date.UTC(2026, 11, 5), 7)).toBe(Date.UTC(2026, 10, 28))
    expect(oldestKeptTs(Date.UTC(2026, 11, 5) - 1, 1)).toBe(Date.UTC(2026, 11, 3))
  })

  it("hands groups on untouched (the same array) when nothing is too old", () => {
    const groups = [{ sensor: "a", index: [0, 1], ts: [10, 20], values: [1, 2] }]
    const split = splitTooOld(groups, 10)
    expect(split.kept).toBe(groups)
    expect(split.tooOld).toEqual([])
  })

  it("splits off exactly the readings older than the bound, keeping the rest in order with their indexes", () => {
    const group = fc.record({ sensor: fc.constantFrom("a", "b", "c"), ts: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 }) })
    fc.assert(
      fc.property(fc.array(group, { maxLength: 6 }), fc.integer({ min: 0, max: 101 }), (raw, oldest) => {
        let next = 0
        const groups = raw.map((g) => ({ sensor: g.sensor, ts: g.ts, values: g.ts.map((t) => t * 2), index: g.ts.map(() => next++) }))
        const { kept, tooOld } = splitTooOld(groups, oldest)
        const all = groups.flatMap((g) => g.ts.map((ts, i) => ({ index: g.index[i]!, sensor: g.sensor, ts })))
        expect(tooOld).toEqual(all.filter((r) => r.ts < oldest).map(({ index, sensor }) => ({ index, sensor })))
        const keptReadings = kept.flatMap((g) => g.ts.map((ts, i) => ({ index: g.index[i]!, sensor: g.sensor, ts, value: g.values[i] })))
        expect(keptReadings).toEqual(all.filter((r) => r.ts >= oldest).map((r) => ({ ...r, value: r.ts * 2 })))
        expect(kept.every((g) => g.ts.length > 0)).toBe(true)
      })
    )
  })

  it("refuses a future skew that could reach past the partitions made ahead", () => {
    const load = (env: Record<string, string>) =>
      Effect.runSync(Effect.either(appConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))))
    expect(Either.isRight(load({}))).toBe(true)
    const refused = load({ MAX_FUTURE_SKEW_MS: String(3 * DAY), PARTITIONS_AHEAD_DAYS: "3" })
    expect(Either.isLeft(refused) && String(refused.left)).toMatch(/MAX_FUTURE_SKEW_MS must be shorter than PARTITIONS_AHEAD_DAYS/)
    expect(Either.isRight(load({ MAX_FUTURE_SKEW_MS: String(2 * DAY), PARTITIONS_AHEAD_DAYS: "3" }))).toBe(true)
  })
})
