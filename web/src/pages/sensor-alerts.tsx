/**
 * The sensor page's open alerts: its open and acknowledged alerts (GET /api/v1/alerts?sensor=…,
 * newest first, at most 20 of each), updated by the `alert` notifications of the page's own live
 * feed (`latest`) and read again whenever the page refreshes (`reloads`). The inbox has the rest.
 */
import { useCallback, useEffect, useState } from "preact/hooks"
import { type Access, call, json } from "../api"
import { type Alert, alertPageOf, mergeAlerts, reconcileAlerts, unresolved } from "../alerts"
import { hrefOf } from "../router"
import { SeverityBadge, When } from "./alerts-page"
import { Problem } from "./problem"

const LIMIT = 20

export const SensorAlerts = ({ access, sensor, latest, reloads }: { readonly access: Access; readonly sensor: string; readonly latest: Alert | null; readonly reloads: number }) => {
  const [alerts, setAlerts] = useState<ReadonlyArray<Alert>>([])
  const [loaded, setLoaded] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)

  const load = useCallback(async () => {
    const q = encodeURIComponent(sensor)
    const pages = await Promise.all(["open", "acknowledged"].map((status) => call(access, `/api/v1/alerts?sensor=${q}&status=${status}&limit=${LIMIT}`, json(alertPageOf))))
    const fetched: Array<Alert> = []
    for (const page of pages) {
      if (!page.ok) {
        if (page.failure.status !== 401) setProblem(page.failure.message)
        return
      }
      fetched.push(...page.value.alerts)
    }
    setAlerts((known) => reconcileAlerts(known, fetched))
    setLoaded(true)
    setProblem(null)
  }, [access, sensor])

  useEffect(() => {
    void load()
  }, [load, reloads])

  useEffect(() => {
    if (latest !== null && latest.sensor === sensor) setAlerts((known) => mergeAlerts(known, [latest]))
  }, [latest, sensor])

  const shown = unresolved(alerts)
  return (
    <section class="panel sensor-alerts" aria-labelledby="sensor-alerts-title">
      <div class="chart-head">
        <h2 id="sensor-alerts-title">Open alerts</h2>
        <p class="meta">
          <a href={hrefOf("alerts")}>All alerts</a>
        </p>
      </div>
      <Problem what="Could not load the alerts" message={problem} />
      {!loaded ? (
        <p class="meta">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="meta" data-testid="sensor-alerts-none">
          No open alerts.
        </p>
      ) : (
        <ul class="alert-list" data-testid="sensor-alerts">
          {shown.map((a) => (
            <li key={a.id}>
              <SeverityBadge severity={a.severity} /> <strong>{a.rule}</strong> {a.message !== "" ? `· ${a.message} ` : ""}
              <span class={`status alert-${a.status}`}>{a.status}</span>{" "}
              <span class="unit">
                raised <When at={a.openedAt} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
