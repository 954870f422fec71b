/** The Prometheus text format of /metrics, read into series, and the few figures the node page shows. */

export interface Series {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)/
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g

const numberOf = (text: string): number => (text === "+Inf" ? Infinity : text === "-Inf" ? -Infinity : Number(text))

export const parsePrometheusText = (text: string): Array<Series> =>
  text.split("\n").flatMap((line) => {
    if (line.startsWith("#")) return []
    const m = LINE.exec(line)
    if (m === null) return []
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    return [{ name: m[1] ?? "", labels, value: numberOf(m[3] ?? "") }]
  })

/** A cumulative histogram: observations at or below each bound, `le` ascending, +Inf last. */
export type Buckets = ReadonlyArray<{ readonly le: number; readonly count: number }>

/** The buckets of histogram `name`, summed over all its label sets. */
export const histogramOf = (series: ReadonlyArray<Series>, name: string): Buckets => {
  const byBound = new Map<number, number>()
  for (const s of series) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue
    const le = numberOf(s.labels.le)
    byBound.set(le, (byBound.get(le) ?? 0) + s.value)
  }
  return [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le)
}

/** What `later` observed since `earlier` (a restart in between: all of `later`). */
export const bucketsSince = (later: Buckets, earlier: Buckets): Buckets => {
  const before = new Map(earlier.map((b) => [b.le, b.count]))
  const diff = later.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }))
  return diff.some((b) => b.count < 0) ? later : diff
}

/** Prometheus's histogram_quantile: linear within the bucket the rank falls in; null without observations. */
export const histogramQuantile = (q: number, buckets: Buckets): number | null => {
  const total = buckets.at(-1)?.count ?? 0
  if (total <= 0) return null
  const rank = q * total
  let lower = 0
  let below = 0
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower
      const inBucket = b.count - below
      return inBucket <= 0 ? b.le : lower + (b.le - lower) * ((rank - below) / inBucket)
    }
    lower = b.le
    below = b.count
  }
  return lower
}

/** The sum of every series named `name` whose labels pass `where`; null when there is none. */
export const sumOf = (series: ReadonlyArray<Series>, name: string, where: (labels: Readonly<Record<string, string>>) => boolean = () => true): number | null => {
  let found = false
  let sum = 0
  for (const s of series) {
    if (s.name !== name || !where(s.labels)) continue
    found = true
    sum += s.value
  }
  return found ? sum : null
}
