/**
 * What a load phase saw: outcomes counted by kind, readings accepted per the node's answers, and
 * ack latencies (202 answers only) as a plain sample array, sorted once for percentiles.
 */

export interface Tally {
  /** Requests that got an HTTP answer or a transport error. */
  requests: number
  readingsSent: number
  /** 202 answers. */
  ok: number
  /** Sum of `accepted` over 202 answers with `durable: true`. */
  acceptedDurable: number
  /** Sum of `accepted` over 202 answers with `durable: false` (must stay 0 with ack=durable). */
  acceptedNotDurable: number
  suspect: number
  rejected: Record<string, number>
  /** Non-202 statuses by code. */
  statuses: Record<string, number>
  /** First answer body seen per non-202 status (trimmed). */
  statusSamples: Record<string, string>
  /** Transport errors by code. */
  errors: Record<string, number>
  /** 202 answers whose body did not have the IngestResult shape. */
  unreadable: number
  /** Ms from the intended send time to the end of the answer, 202 answers only. */
  latenciesMs: Array<number>
}

export const newTally = (): Tally => ({
  requests: 0,
  readingsSent: 0,
  ok: 0,
  acceptedDurable: 0,
  acceptedNotDurable: 0,
  suspect: 0,
  rejected: {},
  statuses: {},
  statusSamples: {},
  errors: {},
  unreadable: 0,
  latenciesMs: []
})

const bump = (m: Record<string, number>, key: string, by = 1): void => {
  m[key] = (m[key] ?? 0) + by
}

interface IngestAnswer {
  readonly accepted: number
  readonly durable: boolean
  readonly suspect: ReadonlyArray<unknown>
  readonly rejected: ReadonlyArray<unknown>
}

const isIngestAnswer = (u: unknown): u is IngestAnswer =>
  typeof u === "object" &&
  u !== null &&
  "accepted" in u &&
  typeof u.accepted === "number" &&
  "durable" in u &&
  typeof u.durable === "boolean" &&
  "suspect" in u &&
  Array.isArray(u.suspect) &&
  "rejected" in u &&
  Array.isArray(u.rejected)

const reasonOf = (u: unknown): string =>
  typeof u === "object" && u !== null && "reason" in u && typeof u.reason === "string" ? u.reason : "unknown"

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export const recordAnswer = (t: Tally, status: number, text: string, latencyMs: number): void => {
  t.requests++
  if (status !== 202) {
    const key = String(status)
    bump(t.statuses, key)
    if (t.statusSamples[key] === undefined) t.statusSamples[key] = text.slice(0, 300)
    return
  }
  t.ok++
  t.latenciesMs.push(latencyMs)
  const answer = parse(text)
  if (!isIngestAnswer(answer)) {
    t.unreadable++
    return
  }
  if (answer.durable) t.acceptedDurable += answer.accepted
  else t.acceptedNotDurable += answer.accepted
  t.suspect += answer.suspect.length
  for (const r of answer.rejected) bump(t.rejected, reasonOf(r))
}

export const errorCode = (e: unknown): string => {
  if (typeof e === "object" && e !== null && "code" in e && typeof e.code === "string") return e.code
  return e instanceof Error ? e.name : "unknown"
}

export const recordError = (t: Tally, e: unknown): void => {
  t.requests++
  bump(t.errors, errorCode(e))
}

/** Adds `b` into `a`. */
export const mergeInto = (a: Tally, b: Tally): void => {
  a.requests += b.requests
  a.readingsSent += b.readingsSent
  a.ok += b.ok
  a.acceptedDurable += b.acceptedDurable
  a.acceptedNotDurable += b.acceptedNotDurable
  a.suspect += b.suspect
  a.unreadable += b.unreadable
  for (const [k, v] of Object.entries(b.rejected)) bump(a.rejected, k, v)
  for (const [k, v] of Object.entries(b.statuses)) bump(a.statuses, k, v)
  for (const [k, v] of Object.entries(b.errors)) bump(a.errors, k, v)
  for (const [k, v] of Object.entries(b.statusSamples)) if (a.statusSamples[k] === undefined) a.statusSamples[k] = v
}

export interface LatencySummary {
  readonly count: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

/** Nearest-rank percentiles over the full sample (no bucketing error). */
export const summarize = (samples: ReadonlyArray<number>): LatencySummary => {
  const sorted = Float64Array.from(samples).sort()
  const n = sorted.length
  const at = (q: number): number => (n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!)
  return { count: n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: n === 0 ? Number.NaN : sorted[n - 1]! }
}

/** Count of answers that were not a clean 202 plus transport errors. */
export const problemCount = (t: Tally): number =>
  Object.values(t.statuses).reduce((s, v) => s + v, 0) + Object.values(t.errors).reduce((s, v) => s + v, 0) + t.unreadable
