/**
 * One sensor (`#/sensors/<id>`): its status, last reading and counters (GET /api/v1/sensors/{id},
 * refreshed every 5 s, a second after readings arrive and on each status change from the feed), a live chart of the last 10
 * minutes from `WS /ws/live` (suspect readings as red points), and a history chart from the
 * aggregates API whose bucket interval follows the chosen range (mean line, min–max band); its
 * status timeline (the node's last 20 changes with their reasons); its open alerts (kept live by the feed's `alert` notifications) and a form for its common settings.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import type uPlot from "uplot"
import { type Alert, notificationAlertOf } from "../alerts"
import { type Access, call, json } from "../api"
import { Chart } from "../chart"
import { formatCount, formatTime, formatValue, NOT_KNOWN } from "../format"
import { historyReadingsOf, type LiveColumns, type LiveReadings, type LiveState, LiveWindow } from "../live-window"
import { PageHeading } from "../page-heading"
import { hrefOf } from "../router"
import { type Counters, type SensorView, sensorOf } from "../sensor-view"
import { linkText, useLiveFeed } from "../use-live-feed"
import { SensorAlerts } from "./sensor-alerts"
import { ACCENT, CHART_HEIGHT, SUSPECT } from "./chart-style"
import { SensorConfigForm } from "./sensor-config-form"
import { SensorHistory } from "./sensor-history"
import { StatusBadge } from "./status-badge"
import { StatusTimeline } from "./status-timeline"
import { Problem } from "./problem"

const REFRESH_MS = 5_000
const SOON_MS = 1_000
const LIVE_WINDOW_MS = 10 * 60_000
const LIVE_MAX_POINTS = 20_000
/** At most this many readings of the last 10 minutes read back when the chart opens (the node's default HISTORY_MAX_LIMIT). */
const LIVE_BACKFILL_LIMIT = 10_000


const rejectedTotal = (c: Counters) => Object.values(c.rejected).reduce((a, b) => a + b, 0)
const rejectedDetail = (c: Counters) =>
  Object.entries(c.rejected)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replace(/_/g, " ")} ${formatCount(n)}`)
    .join(", ")


const When = ({ at }: { readonly at: number | null }) =>
  at === null ? <>never</> : <time dateTime={new Date(at).toISOString()}>{formatTime(at)}</time>

const liveOptions = (): Omit<uPlot.Options, "width" | "height"> => ({
  scales: { x: { time: true } },
  series: [
    {},
    { label: "Value", stroke: ACCENT, width: 2, spanGaps: true },
    { label: "Suspect", stroke: SUSPECT, paths: () => null, points: { show: true, size: 9, width: 2, stroke: SUSPECT, fill: "#ffffff" } }
  ],
  axes: [{}, { size: 60 }]
})

export const SensorPage = ({ access, sensor }: { readonly access: Access; readonly sensor: string }) => {
  const path = `/api/v1/sensors/${encodeURIComponent(sensor)}`
  const [view, setView] = useState<SensorView | null>(null)
  const [missing, setMissing] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)

  const load = useCallback(async () => {
    const answer = await call(access, path, json(sensorOf))
    if (answer.ok) {
      setView(answer.value)
      setMissing(false)
      setProblem(null)
    } else if (answer.failure.status === 404) {
      setMissing(true)
      setProblem(null)
    } else if (answer.failure.status !== 401) setProblem(answer.failure.message)
  }, [access, path])

  // Readings arriving on the feed: the counters (rejections are not in the feed) are asked again a second later.
  const soon = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const loadSoon = useCallback(() => {
    if (soon.current !== undefined) return
    soon.current = setTimeout(() => {
      soon.current = undefined
      void load()
    }, SOON_MS)
  }, [load])

  useEffect(() => {
    void load()
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void load()
    }, REFRESH_MS)
    return () => {
      clearInterval(timer)
      clearTimeout(soon.current)
      soon.current = undefined
    }
  }, [load])

  // Live: readings go into a window kept outside state; the chart is redrawn once per animation frame at most.
  const live = useRef(new LiveWindow(LIVE_WINDOW_MS, LIVE_MAX_POINTS))
  const [liveData, setLiveData] = useState<LiveColumns>(() => live.current.columns())
  const frame = useRef(0)
  const redraw = useCallback(() => {
    if (frame.current !== 0) return
    frame.current = requestAnimationFrame(() => {
      frame.current = 0
      live.current.trim(Date.now())
      setLiveData(live.current.columns())
    })
  }, [])
  useEffect(() => {
    // The window slides even when nothing arrives.
    const timer = setInterval(redraw, 1_000)
    return () => {
      clearInterval(timer)
      cancelAnimationFrame(frame.current)
      frame.current = 0
    }
  }, [redraw])

  // The window's past: read from history whenever the feed (re)subscribes, so the chart opens full
  // and a reconnect leaves no gap (what also came live is not drawn twice).
  const backfill = useCallback(async () => {
    const from = Date.now() - LIVE_WINDOW_MS
    const answer = await call(access, `${path}/readings?from=${from}&limit=${LIVE_BACKFILL_LIMIT}`, json(historyReadingsOf))
    if (!answer.ok) return
    live.current.backfill(answer.value, Date.now())
    redraw()
  }, [access, path, redraw])

  // Alerts: the feed carries this sensor's alert notifications; the list is read again after a reconnect.
  const [latestAlert, setLatestAlert] = useState<Alert | null>(null)
  const [alertReloads, setAlertReloads] = useState(0)

  const { link, notice, dismiss } = useLiveFeed(sensor, access.credential, {
    onReadings: (r: LiveReadings) => {
      live.current.add(r, Date.now())
      const lastTs = live.current.newestTs
      const lastValue = live.current.newestValue
      setView((v) => (v === null || lastTs === null || (v.lastTs !== null && v.lastTs > lastTs) ? v : { ...v, lastTs, lastValue }))
      redraw()
      loadSoon()
    },
    onSubscribed: (state: LiveState | null) => {
      if (state !== null) setView((v) => (v === null ? v : { ...v, status: state.status }))
    },
    onState: (status: string, at: number, reason: string) => {
      setView((v) => (v === null ? v : { ...v, status, statusSince: at, statusReason: reason }))
      void load()
    },
    onAlert: (n) => {
      const a = notificationAlertOf(n)
      if (a !== null) setLatestAlert(a)
    },
    onLive: () => {
      setAlertReloads((n) => n + 1)
      void backfill()
    },
    onLost: () => void load()
  })

  const points = liveData[0].length
  const liveNow = Date.now() / 1000
  const liveRange: readonly [number, number] = [liveNow - LIVE_WINDOW_MS / 1000, liveNow]
  const suspect = liveData[2].reduce<number>((n, v) => (v === null ? n : n + 1), 0)
  const status = view?.status ?? "unknown"
  const since = view?.statusSince ?? null
  const counters = view?.counters ?? null

  return (
    <>
      <p class="crumbs">
        <a href={hrefOf("sensors")}>← All sensors</a>
      </p>
      <PageHeading id="sensor-title" title={sensor} />
      {missing && (
        <p class="notice" role="status">
          The node has no sensor “{sensor}” yet: it appears with its first reading, and the live chart shows it as it arrives.
        </p>
      )}
      <Problem what="Could not refresh" message={problem} />
      <section class="panel sensor-header" aria-labelledby="sensor-state-title">
        <h2 id="sensor-state-title">State</h2>
        <dl class="figures sensor-figures">
          <div>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={status} testId="sensor-status">
                {view === null ? NOT_KNOWN : status}
              </StatusBadge>
            </dd>
          </div>
          <div>
            <dt>Last seen</dt>
            <dd data-testid="sensor-last-seen">{view === null ? NOT_KNOWN : <When at={view.lastTs} />}</dd>
          </div>
          <div>
            <dt>Last value</dt>
            <dd>{formatValue(view?.lastValue ?? null)}</dd>
          </div>
          <div>
            <dt>Accepted</dt>
            <dd>{formatCount(counters?.accepted ?? null)}</dd>
          </div>
          <div>
            <dt>Suspect</dt>
            <dd>{formatCount(counters?.suspect ?? null)}</dd>
          </div>
          <div>
            <dt>Rejected</dt>
            <dd data-testid="sensor-rejected">
              {counters === null ? NOT_KNOWN : formatCount(rejectedTotal(counters))}
              {counters !== null && rejectedTotal(counters) > 0 && <span class="unit"> ({rejectedDetail(counters)})</span>}
            </dd>
          </div>
        </dl>
        {since !== null && (
          <p class="meta reason">
            Status since <When at={since} />
            {view !== null && view.statusReason !== "" ? `: ${view.statusReason}` : ""}
          </p>
        )}
      </section>

      <StatusTimeline transitions={view?.transitions ?? []} now={Date.now()} />

      <SensorAlerts access={access} sensor={sensor} latest={latestAlert} reloads={alertReloads} />

      <section class="panel chart-panel" aria-labelledby="live-title">
        <div class="chart-head">
          <h2 id="live-title">Live, last {LIVE_WINDOW_MS / 60_000} minutes</h2>
          <p class={`link link-${link.phase}`} role="status" data-testid="live-status">
            {linkText(link)}
          </p>
        </div>
        {notice !== null && (
          <div class="notice live-notice" role="alert" data-testid="live-notice">
            <span>
              {notice.message} <span class="unit">({formatTime(notice.at)})</span>
            </span>
            <button type="button" class="secondary" onClick={dismiss}>
              Dismiss
            </button>
          </div>
        )}
        <Chart
          label={`Live readings of ${sensor}, last ${LIVE_WINDOW_MS / 60_000} minutes`}
          summary={
            points === 0
              ? "No readings in the window yet; they appear as they arrive. Rejected readings are never drawn (see Rejected above)."
              : `${formatCount(points)} readings in the window, ${formatCount(suspect)} suspect (red points); newest ${formatValue(live.current.newestValue)}.`
          }
          testId="live-chart"
          height={CHART_HEIGHT}
          options={liveOptions}
          data={liveData}
          xRange={liveRange}
        />
      </section>

      <SensorHistory access={access} path={path} sensor={sensor} />

      <SensorConfigForm access={access} path={path} onSaved={() => void load()} />
    </>
  )
}
