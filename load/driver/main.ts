/**
 * `npm run load -- --scenario http|ws|live|mixed --rate N --duration 10s --sensors N [--knee]`:
 * runs one scenario (or finds its knee) against a node on this machine and prints what it saw.
 * Exit code 1 when a threshold (p99, error rate) broke, 2 on bad arguments.
 */
import { writeFile } from "node:fs/promises"
import { parseArgs } from "./args.js"
import { findKnee, judgeStep } from "./knee.js"
import { loopbackProblem } from "./loopback.js"
import { runScenario, warmUp } from "./scenarios.js"
import { errorPercent, kneeTable, PART_HEADERS, partRow, seriesLine, table } from "./summary.js"

const main = async (): Promise<number> => {
  const parsed = parseArgs(process.argv.slice(2))
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(e)
    return 2
  }
  const o = parsed.options
  const problem = loopbackProblem(o.url)
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
