/**
 * `npm run load -- --scenario http|ws|live|mixed|mqtt --rate N --duration 10s --sensors N [--knee]`:
 * runs one scenario (or finds its knee) against a node (or, for mqtt, a broker the node takes
 * from) on this machine and prints what it saw.
 * Exit code 1 when a threshold (p99, error rate) broke, 2 on bad arguments.
 */
import { writeFile } from "node:fs/promises"
import { DEFAULTS, parseArgs } from "./args.js"
import { findKnee, judgeStep } from "./knee.js"
import { loopbackProblem } from "./loopback.js"
import { fleetSensors, mqttUrlProblem } from "./mqtt.js"
import { runScenario, warmUp } from "./scenarios.js"
import { errorPercent, kneeTable, PART_HEADERS, partRow, seriesLine, table } from "./summary.js"

const USAGE = `npm run load -- --scenario http|ws|live|mixed|mqtt [flags]

  --url URL                 node to load, loopback only (${DEFAULTS.url})
  --rate N                  arrivals/s: requests (http), frames (ws), readings (live), http requests (mixed) (${DEFAULTS.rate})
  --duration D              500ms, 10s, 2m (${DEFAULTS.durationMs / 1000}s)
  --sensors N / --sites N   id space: site-<i % sites>/<kind>-<i> under --prefix (${DEFAULTS.sensors} / ${DEFAULTS.sites}, prefix "${DEFAULTS.prefix}")
  --batch N / --per-sensor N  readings per request / per sensor within it (${DEFAULTS.batch} / ${DEFAULTS.perSensor})
  --ack durable|accepted    (${DEFAULTS.ack})
  --devices N               ws connections (${DEFAULTS.devices})
  --dashboards N / --sensors-per-dashboard N  live watchers (${DEFAULTS.dashboards} / ${DEFAULTS.sensorsPerDashboard})
  --max-in-flight N         arrivals beyond it are counted unsent, not delayed (${DEFAULTS.maxInFlight})
  --p99-ms X / --max-error-rate X  thresholds; exit 1 when broken (${DEFAULTS.p99Ms} / ${DEFAULTS.maxErrorRate})
  --knee [--knee-factor F --knee-step D --knee-max-steps N]  raise --rate by F per step until a threshold breaks
  --out FILE                write the summary (with per-second series) as JSON

  mqtt (a closed loop of QoS 1 devices through the broker; --rate, --sensors and --ack do not apply):
  --mqtt-url URL            the broker, loopback only (${DEFAULTS.mqttUrl})
  --topic-prefix P          the node's MQTT_TOPIC_PREFIX (${DEFAULTS.topicPrefix})
  --devices N               MQTT clients, each publishing to <prefix>/<device>/readings (1000 for mqtt)
  --batch N / --per-sensor N  readings per message (100 for mqtt) / per sensor within it
  --in-flight N             messages a device keeps unanswered, each with its own sensors (${DEFAULTS.inFlight})
  --warm-up D               run this long first, unmeasured, to activate the sensors (${DEFAULTS.warmupMs / 1000}s; 0 for none)
  --answer-timeout D        a message unanswered this long counts as an error (${DEFAULTS.answerTimeoutMs / 1000}s)
`

const main = async (): Promise<number> => {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(USAGE)
    return 0
  }
  const parsed = parseArgs(process.argv.slice(2))
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(e)
    console.error("(npm run load -- --help for every flag)")
    return 2
  }
  const o = parsed.options
  const problem = o.scenario === "mqtt" ? mqttUrlProblem(o.mqttUrl) : loopbackProblem(o.url)
  if (problem !== null) {
    console.error(problem)
    return 2
  }
  if (o.scenario === "http" || o.scenario === "mixed") {
    const w = await warmUp(o)
    console.log(`warm-up: ${w.sensors.toLocaleString("en-US")} sensors activated in ${(w.ms / 1000).toFixed(1)} s`)
  }
  if (o.knee.enabled) {
    const stepOptions = { ...o, durationMs: o.knee.stepMs }
    const knee = await findKnee(o.rate, o.knee.factor, o.knee.maxSteps, async (rate) => {
      const r = await runScenario(stepOptions, rate)
      const main = r.parts[0]!
      const step = judgeStep(rate, main, o.p99Ms, o.maxErrorRate)
      console.log(`  ${o.scenario} at ${rate}/s: p99 ${main.latencyMs.p99.toFixed(1)} ms, errors ${errorPercent(main)}${step.held ? "" : ` -> ${step.why}`}`)
      return step
    })
    console.log(`\n${kneeTable(knee)}`)
    console.log(
      knee.sustainableRate === null
        ? `\nno sustainable rate: the first step (${o.rate}/s) already broke p99 <= ${o.p99Ms} ms / errors <= ${o.maxErrorRate * 100}%`
        : `\nhighest sustainable rate: ${knee.sustainableRate}/s (p99 <= ${o.p99Ms} ms, errors <= ${o.maxErrorRate * 100}%)`
    )
    if (o.out !== null) await writeFile(o.out, JSON.stringify({ options: o, knee }, null, 2))
    return knee.sustainableRate === null ? 1 : 0
  }
  if (o.scenario === "mqtt") {
    console.log(`mqtt: ${o.devices.toLocaleString("en-US")} devices x ${o.inFlight} in flight, ${o.batch} readings/message, ${fleetSensors(o).toLocaleString("en-US")} sensors under ${JSON.stringify(o.prefix)}`)
  }
  const report = await runScenario(o)
  console.log(table(PART_HEADERS, report.parts.map(partRow)))
  for (const part of report.parts) console.log(`${part.label} per second (ok/p99 ms): ${seriesLine(part)}`)
  console.log(`acknowledged durable readings: ${report.durableReadings.toLocaleString("en-US")} (sensor ids under ${JSON.stringify(report.prefix)})`)
  if (o.out !== null) await writeFile(o.out, JSON.stringify({ options: o, report }, null, 2))
  const verdicts = report.parts.map((p) => judgeStep(o.rate, p, o.p99Ms, o.maxErrorRate))
  const broken = verdicts.filter((v) => !v.held)
  for (const [i, v] of verdicts.entries()) if (!v.held) console.log(`THRESHOLD: ${report.parts[i]!.label}: ${v.why}`)
  return broken.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e))
    process.exit(1)
  }
)
