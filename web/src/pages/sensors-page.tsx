/**
 * Every sensor of the caller's tenant, searched by id prefix and filtered by status: GET
 * /api/v1/sensors pages of 1,000 by id (`after` the last one; the node filters before it cuts a
 * page), fetched as the list scrolls near its end and rendered virtually. Each row shows the
 * sensor's status, last value and time and suspect share as of its last snapshot, and links to its
 * sensor page (live).
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import { type Access, call, json } from "../api"
import { pageOf, type SensorRow } from "../sensor-list"
import { formatShare, formatTime, formatValue } from "../format"
import { PageHeading } from "../page-heading"
import { sensorHref } from "../router"
import { useMediaQuery } from "../use-media-query"
import { VirtualList } from "../virtual-list"
import { STATUSES, StatusBadge } from "./status-badge"

const PAGE = 1_000
/** Load the next page when the view comes this close to the last loaded row. */
const AHEAD = 200
const SEARCH_DELAY_MS = 200

interface Filter {
  readonly prefix: string
  /** One of STATUSES, or "" for all. */
  readonly status: string
}

interface Listing extends Filter {
  readonly rows: ReadonlyArray<SensorRow>
  readonly next: string | null
  readonly complete: boolean
}

const cells = (s: SensorRow) => (
  <>
    <td class="c-id" title={s.id}>
      <a href={sensorHref(s.id)}>{s.id}</a>
    </td>
    <td class="c-status">
      <StatusBadge status={s.status} />
    </td>
    <td class="c-value">{formatValue(s.lastValue)}</td>
    <td class="c-suspect" title="Share of its accepted readings that were suspect">
      {formatShare(s.suspectShare)}
    </td>
    <td class="c-seen">{s.lastSeen === null ? "never" : <time dateTime={new Date(s.lastSeen).toISOString()}>{formatTime(s.lastSeen)}</time>}</td>
  </>
)

const summary = (l: Listing) => {
  const n = l.rows.length.toLocaleString("en-US")
  const which = l.status === "" ? "" : `${l.status} `
  const what = l.prefix === "" ? "" : ` starting with “${l.prefix}”`
  if (!l.complete) return `${n} ${which}sensors${what} loaded; more load as you scroll`
  return l.rows.length === 0 ? `No ${which}sensors${what}.` : `${n} ${which}sensor${l.rows.length === 1 ? "" : "s"}${what}`
}

export const SensorsPage = ({ access }: { readonly access: Access }) => {
  const [input, setInput] = useState("")
  const [prefix, setPrefix] = useState("")
  const [status, setStatus] = useState("")
  const [reloads, setReloads] = useState(0)
  const [listing, setListing] = useState<Listing>({ prefix: "", status: "", rows: [], next: null, complete: false })
  const [error, setError] = useState<string | null>(null)
  const narrow = useMediaQuery("(max-width: 560px)")
  // The listing a response belongs to, and whether a page is on its way: a response for an older search is dropped.
  const generation = useRef(0)
  const loading = useRef(false)
  const current = useRef(listing)
  current.current = listing

  const loadPage = useCallback(
    async (from: Listing) => {
      const gen = generation.current
      loading.current = true
      const params = new URLSearchParams({ limit: String(PAGE) })
      if (from.prefix !== "") params.set("prefix", from.prefix)
      if (from.status !== "") params.set("status", from.status)
      if (from.next !== null) params.set("after", from.next)
      const answer = await call(access, `/api/v1/sensors?${params}`, json(pageOf))
      if (gen !== generation.current) return
      loading.current = false
      if (!answer.ok) return setError(answer.failure.message)
      setError(null)
      const { sensors, next } = answer.value
      setListing({ prefix: from.prefix, status: from.status, rows: from.rows.concat(sensors), next, complete: next === null })
    },
    [access]
  )

  useEffect(() => {
    const t = setTimeout(() => setPrefix(input.trim()), SEARCH_DELAY_MS)
    return () => clearTimeout(t)
  }, [input])

  useEffect(() => {
    generation.current++
    loading.current = false
    const fresh: Listing = { prefix, status, rows: [], next: null, complete: false }
    setListing(fresh)
    void loadPage(fresh)
  }, [prefix, status, reloads, loadPage])

  const onViewEnd = useCallback(
    (end: number) => {
      const l = current.current
      if (!l.complete && l.next !== null && !loading.current && end > l.rows.length - AHEAD) void loadPage(l)
    },
    [loadPage]
  )

  return (
    <>
      <PageHeading id="sensors-title" title="Sensors" />
      <search class="search">
        <form onSubmit={(e) => e.preventDefault()}>
        <label for="sensor-prefix">Search by id prefix</label>
        <input
          id="sensor-prefix"
          type="search"
          value={input}
          placeholder="site-7/"
          autoComplete="off"
          spellcheck={false}
          onInput={(e) => setInput(e.currentTarget.value)}
          aria-describedby="sensors-summary"
        />
        <label for="sensor-status">Status</label>
        <select id="sensor-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)} aria-describedby="sensors-summary">
          <option value="">All</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        </form>
      </search>
      <div class="list-head">
        <p id="sensors-summary" class="meta" role="status" data-testid="sensors-summary">
          {error !== null ? "Could not load the sensors." : listing.complete || listing.rows.length > 0 ? summary(listing) : "Loading…"}
        </p>
        <button type="button" class="secondary" onClick={() => setReloads((n) => n + 1)} title="Statuses and values are as of each sensor's last snapshot">
          Refresh
        </button>
      </div>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <VirtualList
        label="Sensors"
        columns={["Sensor", "Status", "Last value", "Suspect", "Last seen"]}
        items={listing.rows}
        more={!listing.complete}
        rowHeight={narrow ? 56 : 36}
        rowKey={(s) => s.id}
        cells={cells}
        onViewEnd={onViewEnd}
        resetKey={`${listing.status}:${listing.prefix}`}
      />
    </>
  )
}
