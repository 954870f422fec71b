import { describe, expect, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import type { AlertRule } from "../../src/domain/rule-kinds.js"
import { defaultCoreConfig } from "../../src/domain/sensor-settings.js"
import { type AlertRuleEncoded, AlertRuleInput, AlertRules } from "../../src/domain/alert-rules.js"
import { effectiveConfig, SensorConfig, SensorConfigPatch } from "../../src/domain/sensor-config.js"

const decodeRule = Schema.decodeUnknownSync(AlertRuleInput)
const decodePatch = Schema.decodeUnknownEither(SensorConfigPatch)

/** The issues of a rejected patch as a user reads them: `rules[0].high: reason`. */
const issuesOf = (input: unknown): ReadonlyArray<string> =>
  Either.match(decodePatch(input), {
    onRight: () => [],
    onLeft: (e) =>
      ParseResult.ArrayFormatter.formatErrorSync(e).map((i) => {
        const path = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "")
        return `${path}: ${i.message}`
      })
  })

const offline = (id: string) => ({ id, kind: "offline", afterSeconds: 60 })
const withRules = (...rules: ReadonlyArray<unknown>) => ({ rules })

describe("alert rules schema", () => {
  it("decodes each kind with its defaults into the core's AlertRule", () => {
    const common: Pick<AlertRule, "severity" | "cooldownSeconds"> = { severity: "warning", cooldownSeconds: null }
    const cases: ReadonlyArray<readonly [AlertRuleEncoded, AlertRule]> = [
      [
        { id: "hot", kind: "threshold", high: 90 },
        { id: "hot", kind: "threshold", ...common, high: 90, low: null, deadband: 0, forSeconds: 0 }
      ],
      [
        { id: "jump", kind: "rate_of_change", maxPerSecond: 5, severity: "critical", cooldownSeconds: 30 },
        { id: "jump", kind: "rate_of_change", severity: "critical", cooldownSeconds: 30, maxPerSecond: 5, deadband: 0 }
      ],
      [
        { id: "stuck", kind: "flatline", seconds: 600 },
        { id: "stuck", kind: "flatline", ...common, readings: null, seconds: 600 }
      ],
      [
        { id: "noisy", kind: "suspect_share", maxShare: 0.3 },
        { id: "noisy", kind: "suspect_share", ...common, maxShare: 0.3, minSamples: 10 }
      ],
      [
        { id: "health", kind: "status", statuses: ["degraded", "fault"] },
        { id: "health", kind: "status", ...common, statuses: ["degraded", "fault"] }
      ],
      [
        { id: "gone", kind: "offline", afterSeconds: 300 },
        { id: "gone", kind: "offline", ...common, afterSeconds: 300 }
      ],
      [
        { id: "trend.v2", kind: "predicted_breach", low: 0, high: 100, horizonSeconds: 900 },
        { id: "trend.v2", kind: "predicted_breach", ...common, high: 100, low: 0, horizonSeconds: 900, minSamples: 10 }
      ]
    ]
    for (const [input, decoded] of cases) {
      expect(decodeRule(input)).toEqual(decoded)
    }
  })

  it("patches take rules; the effective config carries them and survives an encode/decode (RPC payload)", () => {
    const patch = Schema.decodeUnknownSync(SensorConfigPatch)({ rules: [{ id: "hot", kind: "threshold", high: 90 }] })
    const cfg = effectiveConfig(defaultCoreConfig, patch)
    expect(cfg.rules).toHaveLength(1)
    const wire = JSON.parse(JSON.stringify(Schema.encodeSync(SensorConfig)(cfg)))
    expect(Schema.decodeUnknownSync(SensorConfig)(wire)).toEqual(Schema.decodeUnknownSync(SensorConfig)(cfg))
    expect(effectiveConfig(defaultCoreConfig, {}).rules).toEqual([])
  })

  it("names the field and the reason of each invalid rule", () => {
    expect(issuesOf(withRules({ id: "t", kind: "threshold" }))).toEqual(["rules[0].high: at least one of high or low is required"])
    expect(issuesOf(withRules(offline("ok"), { id: "t", kind: "threshold", high: 10, low: 10 }))).toEqual([
      "rules[1].low: must be less than high"
    ])
    expect(issuesOf(withRules({ id: "t", kind: "threshold", high: 10, low: 0, deadband: 5 }))).toEqual([
      "rules[0].deadband: must be less than half of high - low"
    ])
    expect(issuesOf(withRules({ id: "t", kind: "predicted_breach", horizonSeconds: 60 }))).toEqual([
      "rules[0].high: at least one of high or low is required"
    ])
    expect(issuesOf(withRules({ id: "f", kind: "flatline" }))).toEqual(["rules[0].readings: at least one of readings or seconds is required"])
    expect(issuesOf(withRules({ id: "s", kind: "status", statuses: [] }))).toEqual(["rules[0].statuses: must name at least one status"])
    expect(issuesOf(withRules({ id: "s", kind: "status", statuses: ["offline"], severity: "loud" }))).toEqual([
      'rules[0].severity: must be "info", "warning" or "critical"',
      'rules[0].statuses[0]: must be "degraded" or "fault"'
    ])
    expect(issuesOf(withRules({ id: "r", kind: "rate_of_change", maxPerSecond: 0 }))).toEqual([
      "rules[0].maxPerSecond: Expected a positive number, actual 0"
    ])
  })

  it("rejects duplicate ids at the duplicate", () => {
    expect(issuesOf(withRules(offline("a"), offline("b"), offline("a")))).toEqual(['rules[2]: duplicate rule id "a"'])
  })

  it("rejects unknown fields", () => {
    expect(issuesOf({ rules: [{ ...offline("a"), afterSecond: 3 }] })).toEqual([
      expect.stringMatching(/^rules\[0\]\.afterSecond: is unexpected/)
    ])
  })

  it("takes at most 32 rules", () => {
    const ids = Array.from({ length: 33 }, (_, i) => `r${i}`)
    expect(Either.isRight(decodePatch({ rules: ids.slice(0, 32).map(offline) }))).toBe(true)
    expect(issuesOf({ rules: ids.map(offline) })).toEqual(["rules: at most 32 rules per sensor"])
  })

  it("takes ids of 1 to 64 characters of letters, digits, '.', '_' and '-'", () => {
    expect(Either.isRight(Schema.decodeUnknownEither(AlertRules)([offline("Ab0._-"), offline("x".repeat(64))]))).toBe(true)
    const reason = "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"
    for (const bad of ["", "has space", "x".repeat(65), "ünï", "a/b"]) {
      expect(issuesOf({ rules: [offline(bad)] })).toEqual([`rules[0].id: ${reason}`])
    }
  })
})
