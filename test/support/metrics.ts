/** Reads one sample of a node's /metrics, as Prometheus would scrape it. */
export const metricValue = async (baseUrl: string, series: string): Promise<number> => {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return 0
}
