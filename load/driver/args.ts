/**
 * `npm run load -- --scenario http|ws|live|mixed|mqtt [--rate N] [--duration 10s] [--sensors N] ...`:
 * flags read into validated options (pure; every problem names its flag).
 */

export type ScenarioName = "http" | "ws" | "live" | "mixed" | "mqtt"
const SCENARIOS: ReadonlyArray<ScenarioName> = ["http", "ws", "live", "mixed", "mqtt"]

export interface LoadOptions {
  readonly scenario: ScenarioName
  readonly url: string
  /** Arrivals per second: requests (http), frames (ws), readings ingested (live), the http part (mixed). */
  readonly rate: number
  readonly durationMs: number
  readonly sensors: number
  readonly sites: number
  readonly batch: number
  /** Readings per sensor within one request (a gateway forwarding a second of 10 Hz data: 10). */
  readonly perSensor: number
  readonly ack: "durable" | "accepted"
  readonly devices: number
  readonly dashboards: number
  readonly sensorsPerDashboard: number
  readonly maxInFlight: number
  readonly prefix: string
  readonly seed: number
  readonly p99Ms: number
  readonly maxErrorRate: number
  /** mqtt: the broker, the node's MQTT_TOPIC_PREFIX, messages each device keeps unanswered, warm-up before measuring. */
  readonly mqttUrl: string
  readonly topicPrefix: string
  readonly inFlight: number
  readonly warmupMs: number
  /** mqtt: a message unanswered this long frees its slot and counts as an error. */
  readonly answerTimeoutMs: number
  readonly knee: { readonly enabled: boolean; readonly factor: number; readonly stepMs: number; readonly maxSteps: number }
  readonly out: string | null
}

export const DEFAULTS: Omit<LoadOptions, "scenario"> = {
  url: "http://127.0.0.1:8080",
  rate: 100,
  durationMs: 10_000,
  sensors: 1_000,
  sites: 10,
  batch: 10,
  perSensor: 10,
  ack: "durable",
  devices: 100,
  dashboards: 20,
  sensorsPerDashboard: 10,
  maxInFlight: 512,
  prefix: "load-",
  seed: 1,
  p99Ms: 50,
  maxErrorRate: 0.01,
  mqttUrl: "mqtt://127.0.0.1:1883",
  topicPrefix: "flowmesh",
  inFlight: 2,
  warmupMs: 3_000,
  answerTimeoutMs: 30_000,
  knee: { enabled: false, factor: 1.5, stepMs: 10_000, maxSteps: 12 },
  out: null
}

/** The mqtt scenario's own defaults where a flag is not given: issue 18's fleet of 1,000 devices, 100 readings per message. */
export const MQTT_DEFAULTS = { devices: 1_000, batch: 100 } as const

/** "500ms", "10s", "2m" or a plain number of milliseconds. */
export const parseDuration = (text: string): number | null => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (m === null) return null
  const n = Number(m[1])
  const unit = m[2] ?? "ms"
  return unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60_000
}

type Parsed = { readonly ok: true; readonly options: LoadOptions } | { readonly ok: false; readonly errors: ReadonlyArray<string> }

const LIMITS: Record<string, readonly [number, number]> = {
  rate: [0.1, 1_000_000],
  sensors: [1, 10_000_000],
  sites: [1, 100_000],
  batch: [1, 5_000],
  "per-sensor": [1, 5_000],
  devices: [1, 100_000],
  dashboards: [0, 100_000],
  "sensors-per-dashboard": [1, 10_000],
  "max-in-flight": [1, 100_000],
  seed: [0, 2 ** 31],
  "p99-ms": [0.001, 600_000],
  "max-error-rate": [0, 1],
  "knee-factor": [1.01, 10],
  "knee-max-steps": [1, 100],
  "in-flight": [1, 1_000]
}

export const parseArgs = (argv: ReadonlyArray<string>): Parsed => {
  const errors: Array<string> = []
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) {
      errors.push(`${arg}: unexpected argument (flags are --name value)`)
      continue
    }
    const [name, inline] = arg.slice(2).split("=", 2)
    if (name === "knee") {
      flags.set("knee", "true")
      continue
    }
    const value = inline ?? argv[i + 1]
    if (inline === undefined) i++
    if (value === undefined) errors.push(`--${name}: needs a value`)
    else flags.set(name ?? "", value)
  }
  const num = (name: string, fallback: number): number => {
    const raw = flags.get(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    const [min, max] = LIMITS[name] ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]
    if (!Number.isFinite(n) || n < min || n > max) {
      errors.push(`--${name}: must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`)
      return fallback
    }
    return n
  }
  const duration = (name: string, fallback: number): number => {
    const raw = flags.get(name)
    if (raw === undefined) return fallback
    const ms = parseDuration(raw)
    if (ms === null || ms <= 0 || ms > 3_600_000) {
      errors.push(`--${name}: must be a duration like 500ms, 10s or 2m (at most 1 h), got ${JSON.stringify(raw)}`)
      return fallback
    }
    return ms
  }
  const scenario = flags.get("scenario")
  if (scenario === undefined) errors.push(`--scenario: required, one of ${SCENARIOS.join(", ")}`)
  else if (!SCENARIOS.some((s) => s === scenario)) errors.push(`--scenario: one of ${SCENARIOS.join(", ")}, got ${JSON.stringify(scenario)}`)
  const ack = flags.get("ack") ?? DEFAULTS.ack
  if (ack !== "durable" && ack !== "accepted") errors.push(`--ack: durable or accepted, got ${JSON.stringify(ack)}`)
  const known = new Set([...Object.keys(LIMITS), "scenario", "url", "duration", "ack", "prefix", "knee", "knee-step", "out", "mqtt-url", "topic-prefix", "warm-up", "answer-timeout"])
  for (const name of flags.keys()) if (!known.has(name)) errors.push(`--${name}: unknown flag`)
  const mqtt = scenario === "mqtt"
  if (mqtt && flags.get("knee") === "true") errors.push("--knee: not for the mqtt scenario (a closed loop: --devices and --in-flight set the load)")
  const options: LoadOptions = {
    scenario: SCENARIOS.find((s) => s === scenario) ?? "http",
    url: flags.get("url") ?? DEFAULTS.url,
    rate: num("rate", DEFAULTS.rate),
    durationMs: duration("duration", DEFAULTS.durationMs),
    sensors: Math.floor(num("sensors", DEFAULTS.sensors)),
    sites: Math.floor(num("sites", DEFAULTS.sites)),
    batch: Math.floor(num("batch", mqtt ? MQTT_DEFAULTS.batch : DEFAULTS.batch)),
    perSensor: Math.floor(num("per-sensor", DEFAULTS.perSensor)),
    ack: ack === "accepted" ? "accepted" : "durable",
    devices: Math.floor(num("devices", mqtt ? MQTT_DEFAULTS.devices : DEFAULTS.devices)),
    dashboards: Math.floor(num("dashboards", DEFAULTS.dashboards)),
    sensorsPerDashboard: Math.floor(num("sensors-per-dashboard", DEFAULTS.sensorsPerDashboard)),
    maxInFlight: Math.floor(num("max-in-flight", DEFAULTS.maxInFlight)),
    prefix: flags.get("prefix") ?? DEFAULTS.prefix,
    seed: Math.floor(num("seed", DEFAULTS.seed)),
    p99Ms: num("p99-ms", DEFAULTS.p99Ms),
    maxErrorRate: num("max-error-rate", DEFAULTS.maxErrorRate),
    mqttUrl: flags.get("mqtt-url") ?? DEFAULTS.mqttUrl,
    topicPrefix: flags.get("topic-prefix") ?? DEFAULTS.topicPrefix,
    inFlight: Math.floor(num("in-flight", DEFAULTS.inFlight)),
    warmupMs: flags.has("warm-up") && flags.get("warm-up") === "0" ? 0 : duration("warm-up", DEFAULTS.warmupMs),
    answerTimeoutMs: duration("answer-timeout", DEFAULTS.answerTimeoutMs),
    knee: {
      enabled: flags.get("knee") === "true",
      factor: num("knee-factor", DEFAULTS.knee.factor),
      stepMs: duration("knee-step", DEFAULTS.knee.stepMs),
      maxSteps: Math.floor(num("knee-max-steps", DEFAULTS.knee.maxSteps))
    },
    out: flags.get("out") ?? null
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options }
}
