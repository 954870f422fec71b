import { describe, expect, it } from "vitest"
import { newSchedule, onChange, onTrailing, phaseOf } from "../../src/actors/snapshot-schedule.js"

describe("snapshot schedule", () => {
  it("writes at once when the last snapshot is older than the interval", () => {
    const s = newSchedule()
    expect(onChange(s, 10_000, 1_000)).toEqual({ _tag: "Now" })
    expect(s.dirty).toBe(false)
  })

  it("defers changes within the interval to one trailing snapshot", () => {
    const s = newSchedule()
    onChange(s, 10_000, 1_000)
    expect(onChange(s, 10_200, 1_000)).toEqual({ _tag: "Later", inMs: 800 })
    expect(onChange(s, 10_500, 1_000)).toEqual({ _tag: "Scheduled" })
    expect(s.dirty).toBe(true)
    expect(onTrailing(s, 11_000)).toBe(true)
    expect(s.dirty).toBe(false)
    expect(onChange(s, 11_100, 1_000)).toEqual({ _tag: "Later", inMs: 900 })
  })

  it("trailing timer writes nothing when the state did not change since", () => {
    const s = newSchedule()
    onChange(s, 10_000, 1_000)
    onChange(s, 10_100, 1_000)
    s.dirty = false
    expect(onTrailing(s, 11_000)).toBe(false)
    expect(s.trailing).toBe(false)
  })

  it("with interval 0 writes every change", () => {
    const s = newSchedule()
    for (let t = 0; t < 5; t++) expect(onChange(s, 1_000 + t, 0)).toEqual({ _tag: "Now" })
  })
})

describe("snapshot phase", () => {
  it("is stable per sensor, within the interval, and spreads sensors over it", () => {
    const phases = Array.from({ length: 1000 }, (_, i) => phaseOf(`sensor-${i}`, 5000))
    expect(phaseOf("sensor-1", 5000)).toBe(phases[1])
    expect(phases.every((p) => p >= 0 && p < 5000)).toBe(true)
    // 1,000 sensors over ten half-second slots: none empty, none with more than twice its share.
    const slots = Array.from({ length: 10 }, (_, s) => phases.filter((p) => Math.floor(p / 500) === s).length)
    expect(Math.min(...slots)).toBeGreaterThan(0)
    expect(Math.max(...slots)).toBeLessThan(200)
    expect(phaseOf("x", 0)).toBe(0)
  })

  it("a sensor started with a phase writes its first snapshot interval - phase later", () => {
    const s = newSchedule(10_000 - 3_000)
    expect(onChange(s, 10_000, 5_000)).toEqual({ _tag: "Later", inMs: 2_000 })
  })
})
