/** The alert rules editor's pure parts (web/src/alert-rules.ts): a rule as a form and back, its summary, a refusal's issues on its fields. */
import { describe, expect, it } from "vitest"
import { emptyRuleForm, kindSpec, RULE_KINDS, ruleFormOf, ruleIssuesOf, ruleOf, ruleSummary, withRule } from "../../web/src/alert-rules.js"

describe("alert rule forms", () => {
  it("turns a stored rule into a form and back, unchanged", () => {
    const stored = { id: "too-hot", kind: "threshold", severity: "critical", high: 90, deadband: 5 }
    const form = ruleFormOf(stored)
    expect(form).toEqual({ kind: "threshold", id: "too-hot", severity: "critical", cooldownSeconds: "", values: { high: "90", low: "", deadband: "5", forSeconds: "" } })
    expect(ruleOf(form)).toEqual(stored)
    const status = { id: "bad", kind: "status", severity: "warning", statuses: ["degraded", "fault"], cooldownSeconds: 60 }
    expect(ruleOf(ruleFormOf(status))).toEqual(status)
  })

  it("leaves empty fields out and sends text that is not a number as typed, for the node to name", () => {
    const form = { ...emptyRuleForm("offline"), id: " silent ", values: { afterSeconds: "soon" } }
    expect(ruleOf(form)).toEqual({ id: "silent", kind: "offline", severity: "warning", afterSeconds: "soon" })
    expect(ruleOf({ ...emptyRuleForm("threshold"), id: "x", values: { high: "1e3", low: " " } })).toEqual({ id: "x", kind: "threshold", severity: "warning", high: 1000 })
  })

  it("offers every kind the node takes, each with its own fields", () => {
    expect(RULE_KINDS.map((k) => k.kind)).toEqual(["threshold", "rate_of_change", "flatline", "suspect_share", "status", "offline", "predicted_breach"])
    expect(kindSpec("flatline").fields.map((f) => f.name)).toEqual(["readings", "seconds"])
    expect(kindSpec("nonsense").kind).toBe("threshold")
  })

  it("summarises what a rule checks", () => {
    expect(ruleSummary({ id: "a", kind: "threshold", high: 90, deadband: 5 })).toBe("high 90 · deadband 5")
    expect(ruleSummary({ id: "b", kind: "offline", afterSeconds: 300 })).toBe("after 300")
    expect(ruleSummary(null)).toBe("")
  })

  it("replaces the edited rule or adds a new one at the end", () => {
    expect(withRule(["a", "b"], 1, "B")).toEqual(["a", "B"])
    expect(withRule(["a"], null, "c")).toEqual(["a", "c"])
  })

  it("puts the issues of the edited rule at its fields and keeps the rest", () => {
    const details = {
      issues: [
        { path: "rules.1.high", message: "at least one of high or low is required" },
        { path: "rules.1", message: 'duplicate rule id "x"' },
        { path: "rules.0.low", message: "must be less than high" },
        { path: "hardMax", message: "must be a finite number or null" }
      ]
    }
    expect(ruleIssuesOf(details, 1)).toEqual({
      byField: { high: "at least one of high or low is required", id: 'duplicate rule id "x"' },
      other: ["rules.0.low: must be less than high", "hardMax: must be a finite number or null"]
    })
    expect(ruleIssuesOf(null, 0)).toEqual({ byField: {}, other: [] })
  })
})
