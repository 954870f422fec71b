/**
 * Every knob of the benchmark in one place. Durations can be scaled down for a quick smoke run with
 * BENCH_SCALE (e.g. 0.3); BENCH_TARGETS picks the databases (default "external,embedded"; "none" runs only the WebSocket rows).
 */

const scale = (() => {
  const raw = Number(process.env.BENCH_SCALE ?? "1")
  return Number.isFinite(raw) && raw > 0 && raw <= 4 ? raw : 1
})()

const ms = (n: number): number => Math.round(n * scale)

export type TargetName = "external" | "embedded"

const targetsFromEnv = (): ReadonlyArray<TargetName> => {
  const wanted = (process.env.BENCH_TARGETS ?? "external,embedded").split(",").map((s) => s.trim())
  if (wanted.includes("none")) return []
  const out: Array<TargetName> = []
  for (const w of wanted) if ((w === "external" || w === "embedded") && !out.includes(w)) out.push(w)
  return out.length > 0 ? out : ["external", "embedded"]
}

/** BENCH_SHAPE=SxR: S sensors x R readings per request (default 10x10; 1x100 and 100x1 show what batching per sensor buys). */
const shapeFromEnv = (): { sensorsPerRequest: number; readingsPerSensor: number } => {
  const m = /^(\d+)x(\d+)$/.exec(process.env.BENCH_SHAPE ?? "10x10")
  const sensorsPerRequest = Number(m?.[1] ?? 10)
  const readingsPerSensor = Number(m?.[2] ?? 10)
  return sensorsPerRequest > 0 && readingsPerSensor > 0 && 10_000 % sensorsPerRequest === 0
    ? { sensorsPerRequest, readingsPerSensor }
    : { sensorsPerRequest: 10, readingsPerSensor: 10 }
}

export const SETTINGS = {
  scale,
  targets: targetsFromEnv(),
  /** Request shape: by default a gateway forwarding 1 s of 10 Hz data from 10 sensors = 100 readings. */
  body: {
    sensors: 10_000,
    ...shapeFromEnv(),
    /** Spacing of one sensor's readings (10 Hz). */
    stepMs: 100,
    sensorPrefix: "bench-"
  },
  bareInsert: {
    batchRows: 2_000,
    connections: [1, 2],
    durationMs: ms(5_000),
    /** Keys far above the node's serial sensor keys, so no row can collide. */
    keyBase: 1_000_000,
    /** Rows go to the (empty) partition of today + this many days, which the node created ahead. */
    dayOffset: 2
  },
  node: {
    /** Warm-up runs at least this long and until every bench sensor was activated once. */
    warmupMs: ms(2_000),
    warmupMaxMs: 20_000,
    concurrencies: [16, 64],
    durationMs: ms(8_000),
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 40_000
  },
  halfPeak: { fraction: 0.5, durationMs: ms(8_000), maxInFlight: 512, connections: 64 },
  bareHttp: { concurrencies: [16, 64], warmupMs: ms(1_000), durationMs: ms(5_000) },
  http: { headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000, maxRequestsPerPhase: 2_000_000 },
  /** WebSocket rows: BENCH_WS=0 skips them. */
  ws: {
    enabled: process.env.BENCH_WS !== "0",
    connections: 1_000,
    /**
     * Device phases: readings per frame and frames each device keeps in flight (a device streams
     * without waiting for each ack). 100 x 1,000 devices in flight stays under WRITER_QUEUE_ROWS.
     */
    devicePhases: [
      { perFrame: 1, inFlight: 8 },
      { perFrame: 1, inFlight: 32 },
      { perFrame: 10, inFlight: 4 },
      { perFrame: 100, inFlight: 1 }
    ],
    /** The same depth with coalescing off, to show what coalescing buys. */
    perFramePhase: { perFrame: 1, inFlight: 32 },
    warmupMs: ms(3_000),
    durationMs: ms(6_000),
    dashboards: 200,
    sensorsPerDashboard: 50,
    liveDurationMs: ms(6_000),
    /** Readings/s the paced devices send while dashboards watch (BENCH_LIVE_RATE). */
    liveRate: Number(process.env.BENCH_LIVE_RATE ?? 1_000)
  },
  /** Memory per resident sensor (BENCH_MEMORY=0 skips it). */
  memory: {
    enabled: process.env.BENCH_MEMORY !== "0",
    /** Resident sensors per row (BENCH_MEMORY_SENSORS=10000 for the small row only). */
    sizes: (process.env.BENCH_MEMORY_SENSORS ?? "10000,100000").split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0),
    settleMs: 5_000,
    heapLimitMb: 12_288,
    /** Readings per sensor of the full-window row (the default window size; BENCH_MEMORY_FULL=0 skips the row). */
    fullWindow: process.env.BENCH_MEMORY_FULL === "0" ? 0 : 60,
    idleMs: 1_800_000
  },
  /** Rows from the load driver: the HTTP knee per batch size and history queries (BENCH_DRIVER=0 skips them). */
  driver: {
    enabled: process.env.BENCH_DRIVER !== "0",
    /** BENCH_KNEE=0 skips the knee rows (history only). */
    knee: process.env.BENCH_KNEE !== "0",
    sensors: 10_000,
    /** [readings per request, first arrival rate in requests/s]; the rate grows by `factor` per step. */
    knees: [
      [1, 200],
      [10, 100],
      [100, 10]
    ] as ReadonlyArray<readonly [number, number]>,
    /** The WebSocket devices knee: connections, and the first rate in frames/s (one reading each). */
    wsDevices: 100,
    wsStartRate: 500,
    /** Live latency through the driver (BENCH_LIVE=0 skips it): one reading per request to watched sensors. */
    live: { enabled: process.env.BENCH_LIVE !== "0", rate: 200, dashboards: 20, sensorsPerDashboard: 10, durationMs: ms(8_000) },
    factor: 1.5,
    stepMs: ms(5_000),
    maxSteps: 10,
    maxInFlight: 1_024,
    maxErrorRate: 0.01,
    historyRows: Number(process.env.BENCH_HISTORY_ROWS ?? 10_000_000),
    historySensors: 1_000,
    historyRate: 200,
    historyMs: ms(8_000)
  },
  /** The cost of AUTH_MODE=required on HTTP ingest (BENCH_AUTH=0 skips it): saturation turns per mode. */
  auth: { enabled: process.env.BENCH_AUTH !== "0", turns: 5 },
  /** The cost of forwarding readings out (BENCH_FORWARD=0 skips it): saturation turns with forwarding off and on. */
  forward: { enabled: process.env.BENCH_FORWARD !== "0", turns: 5 },
  /** The cost of rollups on HTTP ingest (BENCH_ROLLUPS=0 skips it): saturation turns with ROLLUPS=false and true. */
  rollups: { enabled: process.env.BENCH_ROLLUPS !== "0", turns: 5, catchUpMaxMs: 120_000 },
  /**
   * Aggregate queries over seeded tiers and a raw export under a heap cap (BENCH_AGGREGATES=0 skips
   * them; BENCH_EXPORT_ROWS sets the export's size).
   */
  aggregates: {
    enabled: process.env.BENCH_AGGREGATES !== "0",
    queries: 200,
    warmup: 20,
    exportRows: Number(process.env.BENCH_EXPORT_ROWS ?? 10_000_000),
    heapLimitMb: 256
  },
  /**
   * MQTT devices through a private Mosquitto (BENCH_MQTT=0 skips it): a closed loop of QoS 1
   * publishes at each shape, then a node SIGKILLed mid-run and restarted under the same
   * MQTT_CLIENT_ID. BENCH_MQTT_CONNECTIONS / BENCH_MQTT_RECEIVE_MAXIMUM set the node's
   * MQTT_CONNECTIONS / MQTT_RECEIVE_MAXIMUM (its defaults when unset).
   */
  mqtt: {
    enabled: process.env.BENCH_MQTT !== "0",
    devices: 1_000,
    /** Readings per message, per sensor within it, and messages each device keeps unanswered. */
    shapes: [
      { perMessage: 100, perSensor: 10, inFlight: 2 },
      { perMessage: 1, perSensor: 1, inFlight: 2 }
    ],
    connections: process.env.BENCH_MQTT_CONNECTIONS ?? null,
    receiveMaximum: process.env.BENCH_MQTT_RECEIVE_MAXIMUM ?? null,
    warmupMs: ms(3_000),
    durationMs: ms(8_000),
    /** The zero-loss run: 100 readings per message, the node SIGKILLed `killAfterMs` into it. */
    killRunMs: ms(15_000),
    killAfterMs: ms(4_000),
    answerTimeoutMs: 120_000,
    quietMs: 3_000
  },
  /** Alert latency and offline detection (BENCH_ALERTS=0 skips it). */
  alerts: {
    enabled: process.env.BENCH_ALERTS !== "0",
    sensors: 10_000,
    /** 1 % of the sensors breach once each. */
    breaching: 100,
    /** Each sensor reports once per period (1,000 readings/s in all, one reading per request). */
    periodMs: 10_000,
    durationMs: ms(40_000),
    offlineSensors: 20,
    offlineAfterSeconds: 10,
    /** Detection is measured from here (the rule's afterSeconds after the last reading). */
    effectiveOfflineSeconds: 10,
    sweepMs: 1_000,
    drainMs: 20_000
  },
  /** The targets of issue 15 (sensor hosting at scale). */
  goals: { nodeOverBareInsert: 0.6, p99Ms: 50, wsOnePerFrame: 80_000, liveP99Ms: 50, bytesPerSensor: 4 * 1024, bytesPerFullSensor: 6 * 1024, alertP99Ms: 250, kneeP99Ms: 50, http100PerRequest: 100_000, authOverNone: 0.9, rollupsOnOverOff: 0.85, yearOfHoursP99Ms: 50, prefixDayMs: 500, loopP99Ms: 20, loopMaxMs: 100, mqtt100PerMessage: 50_000, mqtt1PerMessage: 20_000, forwardOnOverOff: 0.9 }
} as const
