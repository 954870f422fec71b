/** The alerts inbox's and the config form's pure parts (web/src/alerts.ts, web/src/sensor-config.ts, the `alert` frame of web/src/live-window.ts). */
import { describe, expect, it } from "vitest"
import { type Alert, alertHistoryOf, alertOf, alertPageOf, lastActor, mergeAlerts, notificationAlertOf, reconcileAlerts, unresolved } from "../../web/src/alerts.js"
import { liveFrameOf } from "../../web/src/live-window.js"
import { CONFIG_FIELDS, configIssuesOf, configPatchOf, configValuesOf, fieldOfPath } from "../../web/src/sensor-config.js"

const alert = (id: number, status: Alert["status"], openedAt = 1_000 * id): Alert => ({
  id,
  sensor: "site-7/pump-1",
  rule: "high",
  kind: "threshold",
  severity: "critical",
  status,
  message: "value 95 > high 90",
  value: 95,
  count: 1,
  openedAt,
  lastSeen: openedAt,
  acknowledgedAt: status === "open" ? null : openedAt + 1,
  acknowledgedBy: status === "open" ? null : "service:key_1",
  resolvedAt: status === "resolved" ? openedAt + 2 : null,
  resolvedBy: status === "resolved" ? "auto" : null
})

describe("alerts decoded", () => {
  it("reads the API's alert, page and history, and an alert notification; refuses other shapes", () => {
    const a = alert(3, "open")
    expect(alertOf(a)).toEqual(a)
    expect(alertOf({ ...a, status: "gone" })).toBeNull()
    expect(alertOf({ ...a, id: "3" })).toBeNull()
    expect(alertPageOf({ alerts: [a], next: "/api/v1/alerts?before=3" })).toEqual({ alerts: [a], next: "/api/v1/alerts?before=3" })
    expect(alertPageOf({ alerts: [a, { id: 1 }], next: null })).toBeNull()
    const history = alertHistoryOf({
      alert: a,
      events: [
        { id: 9, event: "acknowledged", at: 20, actor: "alice", detail: {} },
        { id: 8, event: "opened", at: 10, actor: null, detail: {} }
      ]
    })
    expect(history?.events.map((e) => e.event)).toEqual(["opened", "acknowledged"])
    expect(notificationAlertOf({ id: 1, type: "alert.acknowledged", alert: a })).toEqual(a)
    expect(notificationAlertOf({ id: 2, type: "alert.summary", alert: null, summary: { suppressed: 3 } })).toBeNull()
  })

  it("decodes the live feed's alert frame", () => {
    const notification = { id: 1, type: "alert.opened", alert: alert(1, "open") }
    expect(liveFrameOf(JSON.stringify({ type: "alert", notification }))).toEqual({ type: "alert", notification })
    expect(liveFrameOf(JSON.stringify({ type: "alert" }))).toBeNull()
  })
})

describe("alerts kept newest first as transitions arrive", () => {
  it("never moves an alert back to an older state, whichever view arrives last", () => {
    const acked = mergeAlerts([alert(1, "open")], [alert(1, "acknowledged")])
    expect(acked.map((a) => a.status)).toEqual(["acknowledged"])
    // A list read before the acknowledgement, answered after its notification.
    expect(mergeAlerts(acked, [alert(1, "open")]).map((a) => a.status)).toEqual(["acknowledged"])
    const resolved = mergeAlerts(acked, [alert(1, "resolved")])
    expect(unresolved(resolved)).toEqual([])
  })

  it("shows the unresolved ones newest first", () => {
    const all = mergeAlerts([], [alert(1, "open"), alert(3, "acknowledged"), alert(2, "resolved"), alert(4, "open")])
    expect(unresolved(all).map((a) => a.id)).toEqual([4, 3, 1])
  })

  it("drops, on a fresh read, what is no longer unresolved, but keeps what arrived after the read", () => {
    const known = [alert(1, "open"), alert(2, "open"), alert(5, "open")]
    const fetched = [alert(2, "acknowledged"), alert(3, "open")]
    expect(reconcileAlerts(known, fetched).map((a) => [a.id, a.status])).toEqual([
      [5, "open"],
      [3, "open"],
      [2, "acknowledged"]
    ])
    expect(reconcileAlerts(known, [])).toEqual([])
  })

  it("says who moved an alert last", () => {
    expect(lastActor(alert(1, "open"))).toBeNull()
    expect(lastActor(alert(1, "acknowledged"))).toEqual({ verb: "Acknowledged", by: "service:key_1", at: 1_001 })
    expect(lastActor(alert(1, "resolved"))).toEqual({ verb: "Cleared", by: "automatically", at: 1_002 })
    expect(lastActor({ ...alert(1, "resolved"), resolvedBy: "alice (service:key_1)" })?.by).toBe("alice (service:key_1)")
  })
})

describe("sensor config form", () => {
  const config = { hardMin: null, hardMax: 1_000, softMin: null, softMax: 100, maxRatePerSecond: null, allowedSkewMs: 0, throttleRate: 100, throttleBurst: 1_000, windowSize: 60, degradedRatio: 0.3, rules: [] }

  it("shows each field of the effective config as text, empty for no limit", () => {
    const values = configValuesOf(config)
    expect(values.hardMax).toBe("1000")
    expect(values.hardMin).toBe("")
    expect(values.degradedRatio).toBe("0.3")
    expect(Object.keys(values)).toEqual(CONFIG_FIELDS.map((f) => f.name))
  })

  it("sends the stored overrides (rules too) with only the fields changed", () => {
    const rules = [{ id: "high", kind: "threshold", high: 90 }]
    const overrides = { softMax: 100, hardMax: 1_000, rules }
    const loaded = configValuesOf(config)
    expect(configPatchOf(overrides, loaded, loaded)).toEqual(overrides)
    expect(configPatchOf(overrides, loaded, { ...loaded, hardMin: " 5 ", throttleRate: "-1", softMax: "", throttleBurst: "" })).toEqual({
      softMax: null,
      hardMax: 1_000,
      rules,
      hardMin: 5,
      throttleRate: -1
    })
    // Not a number: passed as text for the node to name.
    expect(configPatchOf({}, loaded, { ...loaded, allowedSkewMs: "soon" })).toEqual({ allowedSkewMs: "soon" })
    expect(configPatchOf({ allowedSkewMs: 50 }, { ...loaded, allowedSkewMs: "50" }, { ...loaded, allowedSkewMs: "" })).toEqual({})
  })

  it("maps an issue's path to its field, the rest to the form", () => {
    expect(fieldOfPath("hardMin")).toBe("hardMin")
    expect(fieldOfPath("throttleRate")).toBe("throttleRate")
    expect(fieldOfPath("rules.0.high")).toBeNull()
    expect(fieldOfPath('["\\u0000"]')).toBeNull()
    expect(fieldOfPath("")).toBeNull()
    const issues = configIssuesOf({
      issues: [
        { path: "hardMin", message: "must not be greater than hardMax" },
        { path: "throttleRate", message: "Expected a positive number, actual -1" },
        { path: "throttleRate", message: "Expected undefined" },
        { path: "rules.0.high", message: "at least one of high or low is required" },
        { path: "", message: "Expected an object" }
      ]
    })
    expect(issues.byField).toEqual({ hardMin: "must not be greater than hardMax", throttleRate: "Expected a positive number, actual -1; Expected undefined" })
    expect(issues.other).toEqual(["rules.0.high: at least one of high or low is required", "Expected an object"])
    expect(configIssuesOf(undefined)).toEqual({ byField: {}, other: [] })
  })
})
