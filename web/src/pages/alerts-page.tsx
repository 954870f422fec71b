/**
 * The alerts inbox (`#/alerts`): every open and acknowledged alert of the caller's tenant, newest
 * first (GET /api/v1/alerts, one request per status, 100 at a time with "Load older"), kept live by
 * `WS /ws/live` subscribed to every alert (`alerts: true`): new alerts and each acknowledge or
 * resolve arrive as notifications; the list is read again whenever the feed (re)subscribes or fell
 * behind, and every 30 s. Acknowledge and Resolve post to the API, which records who did it; they
 * are offered to operators and admins only (a viewer is told why), and a refusal the node still
 * gives (a role changed since sign-in) is shown under the alert. A row opens the alert's
 * history (GET /api/v1/alerts/{id}).
 */
import { Fragment } from "preact"
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import { type Access, type ApiFailure, call, json, mayOperate, send } from "../api"
import { type Alert, type AlertHistory, alertHistoryOf, alertOf, alertPageOf, lastActor, mergeAlerts, notificationAlertOf, reconcileAlerts, unresolved } from "../alerts"
import { formatCount, formatTime } from "../format"
import { PageHeading } from "../page-heading"
import { sensorHref } from "../router"
import { linkText, useLiveFeed } from "../use-live-feed"
import { TableHead } from "../table-head"
import { Problem } from "./problem"

const PAGE = 100
const REFRESH_MS = 30_000
const STATUSES = ["open", "acknowledged"] as const

type HistoryView = { readonly phase: "loading" } | { readonly phase: "loaded"; readonly history: AlertHistory } | { readonly phase: "failed"; readonly message: string }

export const When = ({ at }: { readonly at: number | null }) =>
  at === null ? <>–</> : <time dateTime={new Date(at).toISOString()}>{formatTime(at)}</time>

export const SeverityBadge = ({ severity }: { readonly severity: string }) =>
  severity === "" ? <>–</> : <span class={`severity severity-${severity === "critical" || severity === "warning" ? severity : "info"}`}>{severity}</span>

/** Acknowledge or resolve `alert`: the alert as it is now, or why not. */
export const actOn = (access: Access, alert: Alert, action: "ack" | "resolve") => send(access, "POST", `/api/v1/alerts/${alert.id}/${action}`, {}, json(alertOf))

const EVENT_WORDS: Readonly<Record<string, string>> = { opened: "Opened", acknowledged: "Acknowledged", resolved: "Resolved", updated: "Updated" }

const HistoryRow = ({ id, view }: { readonly id: number; readonly view: HistoryView }) => (
  <tr id={`alert-history-${id}`} class="alert-history">
    <td colSpan={7}>
      {view.phase === "loading" && <p class="meta">Loading the history…</p>}
      <Problem what="Could not load the history" message={view.phase === "failed" ? view.message : null} />
      {view.phase === "loaded" && (
        <>
          <p class="meta">{view.history.alert.message}</p>
          <ol class="events" aria-label={`History of alert ${id}`}>
            {view.history.events.map((e) => (
              <li key={e.id}>
                <When at={e.at} /> {EVENT_WORDS[e.event] ?? e.event}
                {e.actor !== null && e.actor !== "" ? ` by ${e.actor}` : ""}
              </li>
            ))}
          </ol>
        </>
      )}
    </td>
  </tr>
)

export const AlertsPage = ({ access }: { readonly access: Access }) => {
  const operator = mayOperate(access.me)
  const [alerts, setAlerts] = useState<ReadonlyArray<Alert>>([])
  const [loaded, setLoaded] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  const [older, setOlder] = useState<ReadonlyArray<string>>([])
  const [histories, setHistories] = useState<ReadonlyMap<number, HistoryView>>(new Map())
  const [busy, setBusy] = useState<number | null>(null)
  const [refusal, setRefusal] = useState<{ readonly id: number; readonly message: string } | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const open = useRef(histories)
  open.current = histories
  // A 401 ends the session (call did that); anything else is said above the list.
  const refused = useCallback((failure: ApiFailure) => {
    if (failure.status !== 401) setProblem(failure.message)
  }, [])

  /** Reads pages of alerts together: their alerts and the links to the pages after them, or null when one was refused. */
  const fetchPages = useCallback(
    async (urls: ReadonlyArray<string>) => {
      const pages = await Promise.all(urls.map((url) => call(access, url, json(alertPageOf))))
      const fetched: Array<Alert> = []
      const next: Array<string> = []
      for (const page of pages) {
        if (!page.ok) {
          refused(page.failure)
          return null
        }
        fetched.push(...page.value.alerts)
        if (page.value.next !== null) next.push(page.value.next)
      }
      return { fetched, next }
    },
    [access, refused]
  )

  const load = useCallback(async () => {
    const read = await fetchPages(STATUSES.map((status) => `/api/v1/alerts?status=${status}&limit=${PAGE}`))
    if (read === null) return
    setAlerts((known) => reconcileAlerts(known, read.fetched))
    setOlder(read.next)
    setLoaded(true)
    setProblem(null)
  }, [fetchPages])

  const loadOlder = async () => {
    const read = await fetchPages(older)
    if (read === null) return
    setAlerts((known) => mergeAlerts(known, read.fetched))
    setOlder(read.next)
  }

  const loadHistory = useCallback(
    async (id: number) => {
      const answer = await call(access, `/api/v1/alerts/${id}`, json(alertHistoryOf))
      if (!open.current.has(id)) return
      const view: HistoryView = answer.ok ? { phase: "loaded", history: answer.value } : { phase: "failed", message: answer.failure.message }
      setHistories((h) => (h.has(id) ? new Map(h).set(id, view) : h))
    },
    [access]
  )

  const toggle = (id: number) => {
    if (histories.has(id)) {
      const h = new Map(histories)
      h.delete(id)
      setHistories(h)
      return
    }
    open.current = new Map(histories).set(id, { phase: "loading" })
    setHistories(open.current)
    void loadHistory(id)
  }

  const changed = (a: Alert) => {
    setAlerts((known) => mergeAlerts(known, [a]))
    if (open.current.has(a.id)) void loadHistory(a.id)
  }

  useEffect(() => {
    void load()
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") void load()
    }, REFRESH_MS)
    return () => clearInterval(timer)
  }, [load])

  const { link, notice, dismiss } = useLiveFeed(null, access.credential, {
    onAlert: (n) => {
      const a = notificationAlertOf(n)
      if (a !== null) changed(a)
    },
    onLive: () => void load(),
    onLost: () => void load()
  })
  // Notifications the feed dropped are not coming: read the list again.
  useEffect(() => {
    if (notice?.kind === "lagged") void load()
  }, [notice, load])

  const act = async (a: Alert, action: "ack" | "resolve") => {
    setBusy(a.id)
    setRefusal(null)
    setDone(null)
    const answer = await actOn(access, a, action)
    setBusy(null)
    if (answer.ok) {
      changed(answer.value)
      setDone(`${action === "ack" ? "Acknowledged" : "Resolved"} ${a.rule} on ${a.sensor}.`)
    } else if (answer.failure.status !== 401) setRefusal({ id: a.id, message: answer.failure.message })
  }

  const shown = unresolved(alerts)
  const openCount = shown.filter((a) => a.status === "open").length

  return (
    <>
      <PageHeading id="alerts-title" title="Alerts" />
      <div class="chart-head">
        <p class="meta" data-testid="alerts-summary" aria-live="polite">
          {loaded ? `${formatCount(openCount)} open, ${formatCount(shown.length - openCount)} acknowledged` : "Loading…"}
        </p>
        <p class={`link link-${link.phase}`} role="status" data-testid="alerts-live-status">
          {linkText(link)}
        </p>
      </div>
      <Problem what="Could not load the alerts" message={problem} />
      {notice !== null && notice.kind !== "lagged" && (
        <div class="notice live-notice" role="alert">
          <span>{notice.message}</span>
          <button type="button" class="secondary" onClick={dismiss}>
            Dismiss
          </button>
        </div>
      )}
      <p class="meta" role="status" data-testid="alerts-done">
        {done ?? ""}
      </p>
      {!operator && (
        <p class="meta" data-testid="alerts-read-only">
          Signed in as {access.me.role ?? access.me.kind}: acknowledging and resolving alerts need role operator.
        </p>
      )}
      <section class="panel" aria-labelledby="alerts-title">
        {loaded && shown.length === 0 ? (
          <p class="meta">No open or acknowledged alerts.</p>
        ) : (
          <div class="table-scroll">
            <table class="alerts-table inbox-table" aria-label="Open and acknowledged alerts">
              <TableHead columns={["Sensor", "Rule", "Severity", "Raised", "State", "Acknowledged / resolved", "Actions"]} />
              <tbody>
                {shown.map((a) => {
                  const actor = lastActor(a)
                  const history = histories.get(a.id)
                  return (
                    <Fragment key={a.id}>
                      <tr data-testid="alert-row" data-alert={a.id}>
                        <td data-label="Sensor">
                          <a href={sensorHref(a.sensor)}>{a.sensor}</a>
                        </td>
                        <td data-label="Rule">
                          {a.rule} <span class="unit">({a.kind})</span>
                          {a.message !== "" && <div class="meta alert-message">{a.message}</div>}
                        </td>
                        <td data-label="Severity">
                          <SeverityBadge severity={a.severity} />
                        </td>
                        <td data-label="Raised">
                          <When at={a.openedAt} />
                          {a.count > 1 && <div class="unit">{formatCount(a.count)} readings</div>}
                        </td>
                        <td data-label="State">
                          <span class={`status alert-${a.status}`} data-testid="alert-state">
                            {a.status}
                          </span>
                        </td>
                        <td data-label="Handled" data-testid="alert-actor">
                          {actor === null ? (
                            "–"
                          ) : (
                            <>
                              {actor.verb} by {actor.by}
                              {actor.at !== null && (
                                <div class="unit">
                                  <When at={actor.at} />
                                </div>
                              )}
                            </>
                          )}
                        </td>
                        <td class="actions">
                          {operator && a.status === "open" && (
                            <button type="button" disabled={busy === a.id} aria-label={`Acknowledge ${a.rule} on ${a.sensor}`} onClick={() => void act(a, "ack")}>
                              Acknowledge
                            </button>
                          )}
                          {operator && (
                            <button type="button" class="secondary" disabled={busy === a.id} aria-label={`Resolve ${a.rule} on ${a.sensor}`} onClick={() => void act(a, "resolve")}>
                              Resolve
                            </button>
                          )}
                          <button
                            type="button"
                            class="secondary"
                            aria-expanded={history !== undefined}
                            aria-controls={history === undefined ? undefined : `alert-history-${a.id}`}
                            aria-label={`History of ${a.rule} on ${a.sensor}`}
                            onClick={() => toggle(a.id)}
                          >
                            History
                          </button>
                        </td>
                      </tr>
                      {refusal !== null && refusal.id === a.id && (
                        <tr>
                          <td colSpan={7}>
                            <p class="error" role="alert" data-testid="alert-refusal">
                              The node refused: {refusal.message}
                            </p>
                          </td>
                        </tr>
                      )}
                      {history !== undefined && <HistoryRow id={a.id} view={history} />}
                    </Fragment>
                  )
                })}
              </tbody>
            </table>
          </div>
        )}
        {older.length > 0 && (
          <button type="button" class="secondary" onClick={() => void loadOlder()}>
            Load older
          </button>
        )}
      </section>
    </>
  )
}
