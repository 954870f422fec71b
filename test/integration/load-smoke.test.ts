/**
 * A short, bounded smoke run of every load scenario (`npm run load`) against a real node on real
 * PostgreSQL (and, for mqtt, a private Mosquitto) at a low rate: each one meets its thresholds, and
 * every reading acknowledged as durable is in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEFAULTS, type LoadOptions, type ScenarioName } from "../../load/driver/args.js"
import { judgeStep } from "../../load/driver/knee.js"
import { runScenario } from "../../load/driver/scenarios.js"
import { createTestDatabase, type TestDatabase } from "../support/databases.js"
import { type PrivateMosquitto, startPrivateMosquitto } from "../support/mosquitto.js"
import { type RunningNode, startNode } from "../support/node-harness.js"

/** Generous for a shared CI machine; the bench measures the real figures. */
const P99_MS = 1_000

describe("load scenarios (smoke)", () => {
  let db: TestDatabase
  let node: RunningNode
  let broker: PrivateMosquitto

  beforeAll(async () => {
    db = await createTestDatabase("load_smoke")
    broker = await startPrivateMosquitto()
    node = await startNode({ DATABASE_URL: db.url, LIVE_INTERVAL_MS: "10", MQTT_URL: broker.url, MQTT_RECONNECT_MS: "200" })
  })
  afterAll(async () => {
    await node?.stop()
    await broker?.stop()
    await db?.drop()
  })

  const options = (scenario: ScenarioName, rate: number): LoadOptions => ({
    ...DEFAULTS,
    scenario,
    url: node.url,
    rate,
    durationMs: 2_000,
    sensors: 200,
    sites: 4,
    devices: 10,
    dashboards: 4,
    sensorsPerDashboard: 5,
    prefix: `smoke-${scenario}-`,
    p99Ms: P99_MS,
    maxErrorRate: 0,
    mqttUrl: broker.url,
    inFlight: 1,
    warmupMs: 0
  })

  const stored = async (prefix: string) => {
    const rows = await node.sql<{ n: number }>(
      "select count(*)::int as n from readings r join sensors s on s.key = r.sensor_key where starts_with(s.id, $1)",
      [prefix]
    )
    return rows[0]?.n ?? 0
  }

  it.each([
    ["http", 20],
    ["ws", 50],
    ["live", 50],
    ["mixed", 20],
    // A closed loop of 10 devices through the broker (the rate does not apply): 10 readings per message.
    ["mqtt", 0]
  ] as const)("%s: thresholds hold at a low rate and no durable ack is lost", async (scenario, rate) => {
    const o = options(scenario, rate)
    const report = await runScenario(o)
    for (const part of report.parts) {
      const verdict = judgeStep(rate, part, o.p99Ms, o.maxErrorRate)
      expect({ part: part.label, why: verdict.why }).toEqual({ part: part.label, why: null })
      expect(part.latencyMs.count).toBeGreaterThan(0)
    }
    expect(report.durableReadings).toBeGreaterThan(0)
    expect(await stored(report.prefix)).toBe(report.durableReadings)
  })
})
