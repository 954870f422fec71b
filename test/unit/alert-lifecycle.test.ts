import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { type AlertEntry, type AlertSignalKind, afterAction, decideAlert, isForgettable } from "../../src/core/alert-lifecycle.js"
import { admit, closeWindow, createStormWindow, summaryMessage } from "../../src/core/storm.js"

const COOLDOWN = 1_000

/** Runs events through the lifecycle as the notifier does; returns the actions and the final entry. */
const run = (events: ReadonlyArray<{ signal: AlertSignalKind; seq: number; at: number }>) => {
  let entry: AlertEntry | undefined
  let nextId = 1
  const actions: Array<string> = []
  for (const e of events) {
    const action = decideAlert(entry, e.signal, e.seq, e.at)
    actions.push(action._tag)
    entry = afterAction(entry, action, e.seq, e.at, COOLDOWN, action._tag === "Open" ? nextId++ : null)
  }
  return { actions, entry }
}

describe("alert lifecycle", () => {
  it("opens once, updates while the condition persists, resolves on clear", () => {
    const { actions, entry } = run([
      { signal: "raised", seq: 1, at: 0 },
      { signal: "continues", seq: 2, at: 10 },
      { signal: "raised", seq: 3, at: 20 },
      { signal: "cleared", seq: 4, at: 30 }
    ])
    expect(actions).toEqual(["Open", "Update", "Update", "Resolve"])
    expect(entry?.openId).toBeNull()
    expect(entry?.resolvedAt).toBe(30)
  })

  it("does not re-raise within the cooldown, and does after it", () => {
    const { actions } = run([
      { signal: "raised", seq: 1, at: 0 },
      { signal: "cleared", seq: 2, at: 100 },
      { signal: "raised", seq: 3, at: 100 + COOLDOWN - 1 },
      { signal: "continues", seq: 4, at: 100 + COOLDOWN }
    ])
    expect(actions).toEqual(["Open", "Resolve", "Suppress", "Open"])
  })

  it("ignores a stale (redelivered) event and a clear with nothing open", () => {
    const { actions } = run([
      { signal: "cleared", seq: 1, at: 0 },
      { signal: "raised", seq: 5, at: 10 },
      { signal: "cleared", seq: 6, at: 20 },
      { signal: "raised", seq: 5, at: 30 }
    ])
    expect(actions).toEqual(["Ignore", "Open", "Resolve", "Ignore"])
  })

  it("forgets a resolved entry once its cooldown passed", () => {
    const entry: AlertEntry = { openId: null, resolvedAt: 0, cooldownMs: COOLDOWN, lastSeq: 3 }
    expect(isForgettable(entry, COOLDOWN - 1)).toBe(false)
    expect(isForgettable(entry, COOLDOWN)).toBe(true)
    expect(isForgettable({ ...entry, openId: 7 }, 10 * COOLDOWN)).toBe(false)
  })

  it("property: for any sequence of events at most one alert is open, and opens and resolves alternate", () => {
    const event = fc.record({
      signal: fc.constantFrom<AlertSignalKind>("raised", "continues", "cleared"),
      seq: fc.integer({ min: 1, max: 200 }),
      gap: fc.integer({ min: 0, max: 2 * COOLDOWN })
    })
    fc.assert(
      fc.property(fc.array(event, { maxLength: 80 }), (raw) => {
        let at = 0
        const events = raw.map((e) => {
          at += e.gap
          return { signal: e.signal, seq: e.seq, at }
        })
        const { actions } = run(events)
        let open = 0
        for (const a of actions) {
          if (a === "Open") open++
          if (a === "Resolve") open--
          expect(open === 0 || open === 1).toBe(true)
          if (a === "Update" || a === "Resolve") expect(open + (a === "Resolve" ? 1 : 0)).toBe(1)
        }
      })
    )
  })
})

describe("storm control", () => {
  it("lets `limit` through per window, counts the rest, and summarises them once", () => {
    const w = createStormWindow(0)
    const admitted = Array.from({ length: 5 }, (_, i) => admit(w, 2, 60_000, i))
    expect(admitted).toEqual([true, true, false, false, false])
    expect(closeWindow(w, 60_000)).toEqual({ suppressed: 3, from: 0 })
    expect(admit(w, 2, 60_000, 60_001)).toBe(true)
    expect(closeWindow(w, 120_000).suppressed).toBe(0)
    expect(summaryMessage(37, "site-7")).toBe("and 37 more alerts on site-7")
    expect(summaryMessage(1, "site-7")).toBe("and 1 more alert on site-7")
  })

  it("starts a fresh window by itself when the last one ended with nothing suppressed", () => {
    const w = createStormWindow(0)
    expect(admit(w, 1, 1_000, 0)).toBe(true)
    expect(admit(w, 1, 1_000, 1_000)).toBe(true)
    expect(admit(w, 1, 1_000, 1_001)).toBe(false)
  })
})
