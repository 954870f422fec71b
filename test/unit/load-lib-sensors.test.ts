import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { hash32, mulberry32, uniformAt } from "../../load/lib/prng.js"
import {
  cleanValue,
  createValueModel,
  dashboardSensors,
  deviceSensors,
  SPIKE_SIGMAS,
  STUCK_MAX_READINGS,
  STUCK_MIN_READINGS,
  sensorId,
  sensorKind
} from "../../load/lib/sensors.js"

const T0 = Date.UTC(2026, 10, 23, 12)
const seeds = fc.integer({ min: 0, max: 2 ** 32 - 1 })

/** n readings of one sensor, stepMs apart. */
const series = (model: ReturnType<typeof createValueModel>, index: number, n: number, stepMs = 1000, start = T0) =>
  Array.from({ length: n }, (_, k) => model.next(index, start + k * stepMs))

describe("prng", () => {
  it("mulberry32 repeats its sequence for a seed and stays in [0, 1)", () => {
    fc.assert(
      fc.property(seeds, (seed) => {
        const a = Array.from({ length: 200 }, mulberry32(seed))
        expect(Array.from({ length: 200 }, mulberry32(seed))).toEqual(a)
        expect(a.every((x) => x >= 0 && x < 1)).toBe(true)
      })
    )
  })

  it("different seeds give different sequences, spread evenly", () => {
    expect(Array.from({ length: 5 }, mulberry32(1))).not.toEqual(Array.from({ length: 5 }, mulberry32(2)))
    const next = mulberry32(42)
    const buckets = new Array<number>(10).fill(0)
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(next() * 10)]! += 1
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500)
  })

  it("hashed draws depend on every bit of a timestamp", () => {
    expect(hash32(7, T0)).toBe(hash32(7, T0))
    expect(hash32(7, T0)).not.toBe(hash32(7, T0 + 1))
    expect(hash32(7, T0)).not.toBe(hash32(7, T0 + 2 ** 32))
    fc.assert(
      fc.property(fc.integer(), fc.nat(), (key, k) => {
        const u = uniformAt(key, k)
        expect(u >= 0 && u < 1).toBe(true)
      })
    )
  })
})

describe("sensor ids", () => {
  it("site by index modulo sites, kind cycling flow, level, pressure, totalizer", () => {
    expect([0, 1, 2, 3, 4, 13].map((i) => sensorId(i, 10))).toEqual([
      "site-0/flow-0",
      "site-1/level-1",
      "site-2/pressure-2",
      "site-3/totalizer-3",
      "site-4/flow-4",
      "site-3/level-13"
    ])
  })

  it("are valid node sensor ids: 1–128 characters of [A-Za-z0-9._:/-]", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 31 }), fc.integer({ min: 1, max: 10_000 }), (index, sites) => {
        expect(sensorId(index, sites)).toMatch(/^[A-Za-z0-9._:/-]{1,128}$/)
      })
    )
  })

  it("devices own disjoint sensors covering the space, offset apart from another load's", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 200 }), (devices, sensors) => {
        const owned = Array.from({ length: devices }, (_, d) => deviceSensors(d, devices, sensors, 1000))
        const all = owned.flat()
        expect(new Set(all).size).toBe(all.length)
        expect(all.length).toBe(Math.max(sensors, devices))
        for (const list of owned) expect(list.length).toBeGreaterThan(0)
        expect(Math.min(...all)).toBe(1000)
      })
    )
  })

  it("dashboards watch distinct sensors of the space, spread evenly", () => {
    expect(dashboardSensors(0, 3, 10)).toEqual([0, 1, 2])
    expect(dashboardSensors(3, 3, 10)).toEqual([9, 0, 1])
    expect(dashboardSensors(0, 50, 10)).toHaveLength(10)
  })
})

describe("value model", () => {
  it("is deterministic for a seed and finite for any sensor and time", () => {
    fc.assert(
      fc.property(seeds, fc.nat({ max: 100_000 }), fc.integer({ min: 0, max: 2 ** 45 }), (seed, index, t) => {
        const a = series(createValueModel(seed), index, 30, 250, t)
        expect(series(createValueModel(seed), index, 30, 250, t)).toEqual(a)
        for (const v of a) expect(Number.isFinite(v)).toBe(true)
      })
    )
  })

  it("does not depend on which other sensors were asked first", () => {
    const alone = createValueModel(9)
    const busy = createValueModel(9)
    series(busy, 5, 100)
    series(busy, 6, 100)
    expect(series(busy, 7, 50)).toEqual(series(alone, 7, 50))
  })

  it("gives sensors periods of 60–600 s and the signal of their kind", () => {
    const model = createValueModel(3)
    for (let i = 0; i < 400; i++) {
      const p = model.profile(i)
      expect(p.kind).toBe(sensorKind(i))
      expect(p.periodMs).toBeGreaterThanOrEqual(60_000)
      expect(p.periodMs).toBeLessThanOrEqual(600_000)
      if (p.kind === "totalizer") expect(p.ratePerHour).toBeGreaterThan(0)
      else expect(p.amplitude).toBeGreaterThan(0)
    }
    const periods = new Set(Array.from({ length: 50 }, (_, i) => model.profile(i * 4).periodMs))
    expect(periods.size).toBeGreaterThan(40)
  })

  it("is smooth without spikes and stuck runs: consecutive readings 1 s apart stay close", () => {
    fc.assert(
      fc.property(seeds, fc.nat({ max: 10_000 }), (seed, index) => {
        const model = createValueModel(seed, { spikeRate: 0, stuckRate: 0 })
        const p = model.profile(index)
        const values = series(model, index, 120)
        // the sine moves at most 2π·A·Δt/P; the noise (|n| < 6.7σ) twice; values are quantized to 0.001
        const bound = (2 * Math.PI * p.amplitude * 1000) / p.periodMs + 2 * 6.7 * p.noise + 0.002 + p.ratePerHour / 3600
        for (let k = 1; k < values.length; k++) expect(Math.abs(values[k]! - values[k - 1]!)).toBeLessThanOrEqual(bound)
      })
    )
  })

  it("lets totalizers only count up, stuck runs and all", () => {
    fc.assert(
      fc.property(seeds, fc.nat({ max: 10_000 }), (seed, n) => {
        const index = n * 4 + 3
        const values = series(createValueModel(seed, { stuckRate: 0.05, spikeRate: 0.05 }), index, 300, 700)
        for (let k = 1; k < values.length; k++) expect(values[k]!).toBeGreaterThanOrEqual(values[k - 1]!)
        expect(values.at(-1)!).toBeGreaterThan(values[0]!)
      })
    )
  })

  it("spikes about spikeRate of the readings, 8 signal sigmas away from the clean signal", () => {
    const spikeRate = 0.01
    const model = createValueModel(11, { spikeRate, stuckRate: 0 })
    let spikes = 0
    let readings = 0
    for (let index = 0; index < 200; index++) {
      if (sensorKind(index) === "totalizer") continue
      const p = model.profile(index)
      series(model, index, 250).forEach((v, k) => {
        readings++
        const off = Math.abs(v - cleanValue(p, T0 + k * 1000))
        if (off > 4 * p.sigma) {
          spikes++
          expect(off).toBeGreaterThan((SPIKE_SIGMAS - 1.5) * p.sigma)
        } else expect(off).toBeLessThan(6.7 * p.noise + 0.001)
      })
    }
    expect(spikes / readings).toBeGreaterThan(spikeRate * 0.75)
    expect(spikes / readings).toBeLessThan(spikeRate * 1.25)
  })

  it("starts stuck runs of 5–50 repeated readings at about stuckRate", () => {
    const stuckRate = 0.005
    const model = createValueModel(5, { spikeRate: 0, stuckRate })
    const lengths: Array<number> = []
    let fresh = 0
    for (let index = 0; index < 300; index++) {
      if (sensorKind(index) === "totalizer") continue
      const values = series(model, index, 400)
      let run = 0
      values.forEach((v, k) => {
        if (k > 0 && v === values[k - 1]) run++
        else {
          if (run > 0) lengths.push(run)
          run = 0
          fresh++
        }
      })
      if (run > 0) lengths.push(run)
    }
    // chance repeats of a noisy signal are single readings; runs are STUCK_MIN_READINGS or longer
    const runs = lengths.filter((n) => n >= STUCK_MIN_READINGS)
    for (const n of runs) expect(n).toBeLessThanOrEqual(STUCK_MAX_READINGS)
    expect(runs.length / fresh).toBeGreaterThan(stuckRate * 0.7)
    expect(runs.length / fresh).toBeLessThan(stuckRate * 1.3)
  })
})
