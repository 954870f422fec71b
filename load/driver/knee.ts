/**
 * "Find the knee": run the scenario at a rising arrival rate (x factor per step) until p99 or the
 * error rate breaks its threshold; the last step that held is the highest sustainable rate, the
 * number a deployment is sized with. The decision is a pure function of each step's summary.
 */
import { errorRate, type RecorderSummary } from "./recorder.js"

export interface KneeStep {
  readonly rate: number
  readonly p99Ms: number
  readonly errorRate: number
  readonly held: boolean
  readonly why: string | null
}

export interface KneeResult {
  readonly steps: ReadonlyArray<KneeStep>
  /** The highest rate that held, or null when even the first step broke a threshold. */
  readonly sustainableRate: number | null
}

export const judgeStep = (rate: number, s: RecorderSummary, p99Ms: number, maxErrorRate: number): KneeStep => {
  const p99 = s.latencyMs.p99
  const errors = errorRate(s)
  const why =
    s.latencyMs.count === 0
      ? "no answers"
      : p99 > p99Ms
        ? `p99 ${p99.toFixed(1)} ms > ${p99Ms} ms`
        : errors > maxErrorRate
          ? `error rate ${(errors * 100).toFixed(2)}% > ${(maxErrorRate * 100).toFixed(2)}%`
          : null
  return { rate, p99Ms: p99, errorRate: errors, held: why === null, why }
}

export const findKnee = async (
  start: number,
  factor: number,
  maxSteps: number,
  runStep: (rate: number) => Promise<KneeStep>
): Promise<KneeResult> => {
  const steps: Array<KneeStep> = []
  let rate = start
  for (let i = 0; i < maxSteps; i++) {
    const step = await runStep(rate)
    steps.push(step)
    if (!step.held) break
    rate = Math.round(rate * factor * 100) / 100
  }
  const held = steps.filter((s) => s.held)
  return { steps, sustainableRate: held.length === 0 ? null : held[held.length - 1]!.rate }
}
