/**
 * Reads samples of a node's /metrics, as Prometheus would scrape it. A series that is not there
 * fails the test, naming it: a renamed metric or label must not read as 0 and pass a check.
 */
const scrape = async (baseUrl: string): Promise<string> => (await fetch(`${baseUrl}/metrics`)).text()

const sampleOf = (text: string, series: string): number | undefined => {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}

const nameOf = (series: string): string => series.split("{")[0] ?? series

/** The value of one series (`name` or `name{label="value",...}`, labels in declaration order); throws if it is missing. */
export const metricValue = async (baseUrl: string, series: string): Promise<number> => {
  const text = await scrape(baseUrl)
  const value = sampleOf(text, series)
  if (value !== undefined) return value
  const name = nameOf(series)
  const lines = text.split("\n")
  const declared = lines.some((l) => l.startsWith(`# TYPE ${name} `))
  const siblings = lines.filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
  throw new Error(
    `${series} is not in ${baseUrl}/metrics: ` +
      (!declared ? `no metric named ${name}` : siblings.length === 0 ? `${name} has no series yet` : `the series of ${name} are ${siblings.join(", ")}`)
  )
}

/**
 * A labelled counter whose labels are only known when it is first incremented (its child does not
 * exist before): a missing child reads 0, but the counter itself must be declared, so a renamed
 * counter still fails. Every other series goes through `metricValue`.
 */
export const counterValue = async (baseUrl: string, series: string): Promise<number> => {
  const text = await scrape(baseUrl)
  const value = sampleOf(text, series)
  if (value !== undefined) return value
  const name = nameOf(series)
  if (!text.split("\n").includes(`# TYPE ${name} counter`)) throw new Error(`no counter named ${name} in ${baseUrl}/metrics (looked for ${series})`)
  return 0
}

/** Polls /metrics until `series` exists and `ok(value)`; fails after `timeoutMs` naming the series and what it read last. */
export const awaitMetric = async (baseUrl: string, series: string, ok: (value: number) => boolean, timeoutMs = 15_000): Promise<number> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = sampleOf(await scrape(baseUrl), series)
    if (value !== undefined && ok(value)) return value
    if (Date.now() > deadline) throw new Error(`${series} at ${baseUrl}/metrics is ${value === undefined ? "missing" : `still ${value}`} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
