/**
 * The bench's self-contained HTML report: the printed tables as they were, and for every phase
 * the load driver ran, throughput and p99 latency over time as inline SVG charts. No scripts, no
 * external assets: one file a user opens in a browser or attaches to an issue.
 */
import { writeFile } from "node:fs/promises"

export interface ChartSeries {
  readonly name: string
  /** [seconds since the phase started, value] */
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface Chart {
  readonly title: string
  readonly yLabel: string
  readonly series: ReadonlyArray<ChartSeries>
}

const W = 720
const H = 240
const PAD = { left: 64, right: 16, top: 28, bottom: 32 }
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

const escapeHtml = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const fmt = (v: number): string => (v >= 1000 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(0) : v.toFixed(1))

export const svgChart = (chart: Chart): string => {
  const points = chart.series.flatMap((s) => s.points.filter(([, y]) => Number.isFinite(y)))
  const maxX = Math.max(1, ...points.map(([x]) => x))
  const maxY = Math.max(1e-9, ...points.map(([, y]) => y)) * 1.1
  const px = (x: number) => PAD.left + (x / maxX) * (W - PAD.left - PAD.right)
  const py = (y: number) => H - PAD.bottom - (y / maxY) * (H - PAD.top - PAD.bottom)
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * maxY)
  const grid = ticks
    .map((t) => `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${PAD.left - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${fmt(t)}</text>`)
    .join("")
  const lines = chart.series
    .map((s, i) => {
      const d = s.points
        .filter(([, y]) => Number.isFinite(y))
        .map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`)
        .join(" ")
      return `<polyline fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5" points="${d}"/>`
    })
    .join("")
  const legend = chart.series
    .map((s, i) => `<tspan fill="${COLOURS[i % COLOURS.length]}" dx="${i === 0 ? 0 : 12}">■ ${escapeHtml(s.name)}</tspan>`)
    .join("")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<text x="${PAD.left}" y="16" font-size="13" font-weight="bold">${escapeHtml(chart.title)}</text>
<text x="${W - PAD.right}" y="16" font-size="11" text-anchor="end">${legend}</text>
${grid}<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#999"/>
<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#999"/>
<text x="${W - PAD.right}" y="${H - 6}" font-size="11" text-anchor="end">seconds (${fmt(maxX)})</text>
<text x="14" y="${PAD.top + 10}" font-size="11" transform="rotate(-90 14 ${PAD.top + 10})" text-anchor="end">${escapeHtml(chart.yLabel)}</text>
${lines}</svg>`
}

export const htmlReport = (title: string, printed: string, charts: ReadonlyArray<Chart>): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1500px}pre{font-size:12px;background:#f7f7f7;padding:12px;overflow-x:auto}
.charts{display:flex;flex-wrap:wrap;gap:12px}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<h2>Over time (load driver phases, open model, latency from the intended send time)</h2>
<div class="charts">${charts.map(svgChart).join("\n")}</div>
<h2>Printed report</h2>
<pre>${escapeHtml(printed)}</pre>
</body></html>
`

export const writeHtmlReport = (file: string, title: string, printed: string, charts: ReadonlyArray<Chart>): Promise<void> =>
  writeFile(file, htmlReport(title, printed, charts))
