/** A period report as a printable HTML page: one self-contained document, no script, print styles. */
import type { Report } from "./reports-api.js"

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const number = (x: number | null, digits = 3) => (x === null ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: digits }))

const when = (ms: number, tz: string) => {
  try {
    return new Date(ms).toLocaleString("sv-SE", { timeZone: tz, hour12: false }) + ` (${tz})`
  } catch {
    return new Date(ms).toISOString()
  }
}

export const reportHtml = (report: typeof Report.Type): string => {
  const rows = report.sensors
    .map(
      (s) => `<tr><th scope="row">${escapeHtml(s.sensor)}</th><td>${number(s.count, 0)}</td><td>${number(s.min)}</td><td>${number(s.max)}</td><td>${number(s.mean)}</td><td>${number(s.sum)}</td><td>${number(s.increase)}</td><td>${s.suspectShare === null ? "–" : `${(s.suspectShare * 100).toFixed(1)} %`}</td><td>${number(s.offlineSeconds / 60, 1)}</td><td>${number(s.alertsOpened, 0)}</td></tr>`
    )
    .join("\n")
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowmesh report ${escapeHtml(when(report.from, report.tz))} – ${escapeHtml(when(report.to, report.tz))}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #111; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
p { margin: 0 0 1rem; color: #444; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: .3rem .5rem; text-align: right; }
th[scope="row"], thead th:first-child { text-align: left; }
thead th { border-bottom: 2px solid #111; }
@media print { body { margin: 0; } a { color: inherit; } tr { page-break-inside: avoid; } }
</style>
</head>
<body>
<h1>Sensor report: ${escapeHtml(report.period)}</h1>
<p>${escapeHtml(when(report.from, report.tz))} to ${escapeHtml(when(report.to, report.tz))} · ${report.sensors.length} sensors · from the ${escapeHtml(report.tier)} rollups · generated ${escapeHtml(new Date(report.generatedAt).toISOString())}</p>
<table>
<thead><tr><th scope="col">sensor</th><th scope="col">readings</th><th scope="col">min</th><th scope="col">max</th><th scope="col">mean</th><th scope="col">sum</th><th scope="col">increase</th><th scope="col">suspect</th><th scope="col">offline (min)</th><th scope="col">alerts opened</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`
}
