import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { baseUrlFor, historyUrl, ingestUrl, parseDurationMs, readConfig, wsUrl } from "../../load/lib/config.js"
import { arrivalTimeMs, constantArrivals, historyArrivals, ingestArrivals, SESSION_GRACE_MS, sessions } from "../../load/lib/scenarios.js"

const configOf = (env: Record<string, string | undefined>) => {
  const result = readConfig(env)
  if (!result.ok) throw new Error(result.errors.join("; "))
  return result.config
}

const errorsOf = (env: Record<string, string | undefined>) => {
  const result = readConfig(env)
  return result.ok ? [] : result.errors
}

describe("load settings", () => {
  it("default every variable", () => {
    expect(configOf({})).toEqual({
      baseUrl: "http://127.0.0.1:8080",
      baseUrls: ["http://127.0.0.1:8080"],
      rate: 100,
      duration: "30s",
      durationMs: 30_000,
      ramp: null,
      runMs: 30_000,
      peakRate: 100,
      vus: 20,
      maxVus: 200,
      sensors: 1000,
      sites: 10,
      batch: 10,
      perSensor: 1,
      stepMs: 10,
      ack: "durable",
      devices: 10,
      frameIntervalMsMin: 100,
      frameIntervalMsMax: 1000,
      dashboards: 5,
      sensorsPerDashboard: 10,
      historyRate: 10,
      p95Ms: 250,
      p99Ms: 500,
      maxErrorRate: 0.01,
      maxLagged: 0,
      spikeRate: 0.001,
      stuckRate: 0.0005,
      seed: 1
    })
    expect(configOf({ RATE: "", BATCH: "  " }).rate).toBe(100)
  })

  it("read what is set", () => {
    const config = configOf({
      BASE_URL: "http://localhost:8081/, http://localhost:8082",
      RATE: "500",
      DURATION: "1m30s",
      BATCH: "100",
      PER_SENSOR: "10",
      SENSORS: "10000",
      ACK: "accepted",
      RAMP: "100:30s, 1000:1m,0:10s",
      MAX_ERROR_RATE: "0",
      SEED: "42"
    })
    expect(config).toMatchObject({
      baseUrl: "http://localhost:8081",
      baseUrls: ["http://localhost:8081", "http://localhost:8082"],
      rate: 500,
      durationMs: 90_000,
      batch: 100,
      perSensor: 10,
      ack: "accepted",
      ramp: [
        { target: 100, duration: "30s" },
        { target: 1000, duration: "1m" },
        { target: 0, duration: "10s" }
      ],
      runMs: 100_000,
      peakRate: 1000,
      maxErrorRate: 0,
      seed: 42
    })
  })

  it("name the variable, the rule and the value of every bad setting", () => {
    expect(errorsOf({ RATE: "abc" })).toEqual(['RATE: must be a positive number, got "abc"'])
    expect(
      errorsOf({
        BASE_URL: "localhost:8080",
        RATE: "-1",
        DURATION: "forever",
        SENSORS: "1.5",
        BATCH: "5001",
        ACK: "maybe",
        RAMP: "100:30s,2.5:1m",
        MAX_ERROR_RATE: "2",
        FRAME_INTERVAL_MS_MIN: "-5"
      })
    ).toEqual([
      'BASE_URL: must be an http:// or https:// URL, or several separated by commas, got "localhost:8080"',
      'RATE: must be a positive number, got "-1"',
      'DURATION: must be a duration like 30s, 2m or 1m30s, got "forever"',
      'RAMP: must be comma-separated <whole arrivals/s>:<duration> stages like 100:30s,1000:1m, got "100:30s,2.5:1m"',
      'SENSORS: must be a positive integer, got "1.5"',
      'BATCH: must be an integer from 1 to 5000, got "5001"',
      'ACK: must be durable or accepted, got "maybe"',
      'FRAME_INTERVAL_MS_MIN: must be an integer of at least 0, got "-5"',
      'MAX_ERROR_RATE: must be a number from 0 to 1, got "2"'
    ])
  })

  it("check settings against each other", () => {
    expect(errorsOf({ FRAME_INTERVAL_MS_MIN: "500", FRAME_INTERVAL_MS_MAX: "200" })).toEqual([
      'FRAME_INTERVAL_MS_MAX: must be at least FRAME_INTERVAL_MS_MIN (500), got "200"'
    ])
    expect(errorsOf({ VUS: "50", MAX_VUS: "10" })).toEqual(['MAX_VUS: must be at least VUS (50), got "10"'])
    expect(errorsOf({ BATCH: "10", PER_SENSOR: "20" })).toEqual(['PER_SENSOR: must be at most BATCH (10), got "20"'])
    expect(errorsOf({ BATCH: "100", SENSORS: "50" })).toEqual([
      'SENSORS: must be at least the 100 sensors of one request (BATCH / PER_SENSOR), got "50"'
    ])
    expect(errorsOf({ SENSORS: "5", BATCH: "5", SENSORS_PER_DASHBOARD: "10" })).toEqual(['SENSORS_PER_DASHBOARD: must be at most SENSORS (5), got "10"'])
  })

  it("refuse a sensor's readings of one request outlasting its turn, which the node would reject as out_of_order", () => {
    // 1000 sensors in requests of 10 sensors: 100 groups, at 1000 requests/s each sensor's turn every 100 ms
    expect(configOf({ RATE: "1000", BATCH: "100", PER_SENSOR: "10", STEP_MS: "10" }).stepMs).toBe(10)
    expect(errorsOf({ RATE: "1000", BATCH: "100", PER_SENSOR: "10", STEP_MS: "20" })).toEqual([
      'STEP_MS: must keep a sensor\'s 10 readings per request within the 100 ms between its requests at 1000 requests/s (raise SENSORS, lower STEP_MS, PER_SENSOR or RATE), got "20"'
    ])
    expect(errorsOf({ RAMP: "5000:1m", BATCH: "100", PER_SENSOR: "10" })[0]).toMatch(/^STEP_MS: .* at 5000 requests\/s/)
  })

  it("parse k6 durations", () => {
    expect([parseDurationMs("500ms"), parseDurationMs("1.5s"), parseDurationMs("2m"), parseDurationMs("1h1m1s")]).toEqual([500, 1500, 120_000, 3_661_000])
    for (const bad of ["", "30", "0s", "1d", "s", "-1s", "1m 30s"]) expect(parseDurationMs(bad)).toBeUndefined()
  })

  it("never throw, whatever the environment holds", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("RATE", "DURATION", "RAMP", "BATCH", "BASE_URL", "ACK", "SEED"), fc.string()), (env) => {
        const result = readConfig(env)
        if (!result.ok) for (const error of result.errors) expect(error).toMatch(/^[A-Z_0-9]+: .+, got ".*"$/s)
      })
    )
  })
})

describe("node URLs", () => {
  it("turn http into ws and https into wss", () => {
    expect(wsUrl("http://127.0.0.1:8080", "/ws/live")).toBe("ws://127.0.0.1:8080/ws/live")
    expect(wsUrl("https://flowmesh.example/", "/ws/devices?ack=durable")).toBe("wss://flowmesh.example/ws/devices?ack=durable")
  })

  it("encode the / of a sensor id in the history path", () => {
    expect(historyUrl("http://h:1", "site-3/flow-12", 100)).toBe("http://h:1/api/v1/sensors/site-3%2Fflow-12/readings?limit=100")
    expect(ingestUrl("http://h:1/", "accepted")).toBe("http://h:1/api/v1/readings?ack=accepted")
  })

  it("spread round robin over every node of BASE_URL", () => {
    const config = configOf({ BASE_URL: "http://a:1,http://b:1,http://c:1" })
    expect([0, 1, 2, 3, 4].map((n) => baseUrlFor(config, n))).toEqual(["http://a:1", "http://b:1", "http://c:1", "http://a:1", "http://b:1"])
  })
})

describe("k6 scenarios", () => {
  it("arrive at RATE for DURATION, or along RAMP from 0", () => {
    expect(ingestArrivals("ingest", configOf({ RATE: "250", DURATION: "2m", VUS: "30", MAX_VUS: "90" }))).toEqual({
      executor: "constant-arrival-rate",
      exec: "ingest",
      rate: 250,
      timeUnit: "1s",
      duration: "120000ms",
      preAllocatedVUs: 30,
      maxVUs: 90
    })
    expect(ingestArrivals("ingest", configOf({ RAMP: "100:30s,1000:1m" }))).toMatchObject({
      executor: "ramping-arrival-rate",
      startRate: 0,
      stages: [
        { target: 100, duration: "30s" },
        { target: 1000, duration: "1m" }
      ]
    })
  })

  it("express a fractional rate in whole arrivals per time unit", () => {
    expect(constantArrivals("history", 2.5, 1000, { vus: 1, maxVus: 1 })).toMatchObject({ rate: 2500, timeUnit: "1000s" })
    expect(constantArrivals("history", 3, 1000, { vus: 1, maxVus: 1 })).toMatchObject({ rate: 3, timeUnit: "1s" })
  })

  it("keep each connection one iteration long, with time to drain", () => {
    expect(sessions("device", 7, 60_000)).toEqual({
      executor: "per-vu-iterations",
      exec: "device",
      vus: 7,
      iterations: 1,
      maxDuration: `${60_000 + SESSION_GRACE_MS}ms`
    })
  })

  it("know when the n-th request starts, at a constant or ramping rate", () => {
    expect(arrivalTimeMs(configOf({ RATE: "50" }), 100)).toBe(2000)
    const ramp = configOf({ RAMP: "100:10s,100:10s" })
    // 0 → 100/s over 10 s: 500 arrivals, n = 50·t²/... = 5·t² → t = √(n/5)
    expect(arrivalTimeMs(ramp, 125)).toBeCloseTo(5000, 6)
    expect(arrivalTimeMs(ramp, 1000)).toBeCloseTo(15_000, 6)
    expect(arrivalTimeMs(configOf({ RAMP: "100:10s,0:10s" }), 875)).toBeCloseTo(15_000, 6)
    expect(arrivalTimeMs(ramp, 5000)).toBeNull()
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 1500 }), (a, b, n) => {
        const config = configOf({ RAMP: `${a}:10s,${b}:10s` })
        const t = arrivalTimeMs(config, n)
        const m = arrivalTimeMs(config, n + 1)
        if (t !== null && m !== null) expect(m).toBeGreaterThanOrEqual(t)
      })
    )
  })

  it("start history queries once every sensor was written, at the latest half-way", () => {
    // 1000 sensors, 10 per request: 100 requests at 100/s = 1 s, plus the margin
    expect(historyArrivals("history", configOf({ HISTORY_RATE: "20" }))).toMatchObject({
      executor: "constant-arrival-rate",
      rate: 20,
      startTime: "3000ms",
      duration: "27000ms"
    })
    expect(historyArrivals("history", configOf({ RATE: "1", SENSORS: "100000" }))).toMatchObject({ startTime: "15000ms", duration: "15000ms" })
  })
})
