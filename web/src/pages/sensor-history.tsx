/**
 * A sensor's history chart: the aggregates API over a range (hour, day, week, month, or a custom
 * From–To typed in local time), in the finest bucket interval that keeps the chart within a few
 * hundred buckets (mean line, min–max band), saying which interval and rollup tier answered.
 */
import { useEffect, useMemo, useState } from "preact/hooks"
import type uPlot from "uplot"
import { type Access, call, json } from "../api"
import { Chart } from "../chart"
import { formatCount, formatTime } from "../format"
import {
  type Aggregates,
  aggregatesOf,
  bucketLabel,
  customRangeOf,
  historyColumns,
  intervalFor,
  localInputValue,
  RANGES,
  type RangeId,
  tierLabel
} from "../history-range"
import { ACCENT, BAND_LINE, CHART_HEIGHT } from "./chart-style"
import { Problem } from "./problem"

const HISTORY_LIMIT = 1_000

const historyOptions = (): Omit<uPlot.Options, "width" | "height"> => ({
  scales: { x: { time: true } },
  series: [
    {},
    { label: "Mean", stroke: ACCENT, width: 2 },
    { label: "Min", stroke: BAND_LINE, width: 1 },
    { label: "Max", stroke: BAND_LINE, width: 1 }
  ],
  bands: [{ series: [3, 2], fill: "rgba(10, 88, 168, 0.12)" }],
  axes: [{}, { size: 60 }]
})

interface Bounds {
  readonly from: number
  readonly to: number
}

interface History extends Bounds {
  readonly key: string
  readonly answer: Aggregates
}

type CustomField = "from" | "to"

export const SensorHistory = ({ access, path, sensor }: { readonly access: Access; readonly path: string; readonly sensor: string }) => {
  // The range picks the interval; a newer request wins over an older one still on its way.
  const [range, setRange] = useState<RangeId>("hour")
  const [custom, setCustom] = useState<Bounds | null>(null)
  const [text, setText] = useState<Record<CustomField, string>>({ from: "", to: "" })
  const [fieldError, setFieldError] = useState<{ readonly field: CustomField; readonly message: string } | null>(null)
  const [history, setHistory] = useState<History | null>(null)
  const [historyError, setHistoryError] = useState<string | null>(null)
  const [loads, setLoads] = useState(0)

  const rangeKey = range === "custom" ? `custom:${custom?.from}-${custom?.to}` : range
  useEffect(() => {
    if (range === "custom" && custom === null) return
    const abort = new AbortController()
    const now = Date.now()
    const bounds: Bounds = range === "custom" && custom !== null ? custom : { from: now - (RANGES.find((r) => r.id === range) ?? RANGES[0]!).spanMs, to: now }
    const interval = intervalFor(bounds.to - bounds.from)
    const params = new URLSearchParams({ interval, from: String(bounds.from), to: String(bounds.to), limit: String(HISTORY_LIMIT) })
    setHistory((h) => (h?.key === rangeKey ? h : null))
    void call(access, `${path}/aggregates?${params}`, json(aggregatesOf), { signal: abort.signal }).then((answer) => {
      if (abort.signal.aborted) return
      if (answer.ok) {
        setHistory({ key: rangeKey, ...bounds, answer: answer.value })
        setHistoryError(null)
      } else if (answer.failure.status === 404) {
        setHistory({ key: rangeKey, ...bounds, answer: { interval, tier: "", buckets: [], next: null } })
        setHistoryError(null)
      } else if (answer.failure.status !== 401) setHistoryError(answer.failure.message)
    })
    return () => abort.abort()
  }, [access, path, range, custom, rangeKey, loads])

  const choose = (id: RangeId) => {
    // Custom starts from the range shown, so that a user narrows or widens it rather than types it all.
    if (id === "custom" && text.from === "" && history !== null) setText({ from: localInputValue(history.from), to: localInputValue(history.to) })
    setRange(id)
  }

  const apply = (e: Event) => {
    e.preventDefault()
    const r = customRangeOf(text.from, text.to)
    if (!r.ok) return setFieldError({ field: r.field, message: r.message })
    setFieldError(null)
    setCustom({ from: r.from, to: r.to })
  }

  const data = useMemo<uPlot.AlignedData>(() => historyColumns(history?.answer.buckets ?? []), [history])
  const span =
    range === "custom"
      ? custom === null
        ? "a custom range"
        : `${formatTime(custom.from)} to ${formatTime(custom.to)}`
      : `the last ${RANGES.find((r) => r.id === range)?.label.toLowerCase() ?? range}`
  const caption =
    range === "custom" && custom === null
      ? "Choose From and To, then Show."
      : history === null
        ? "Loading…"
        : history.answer.buckets.length === 0
          ? `No readings in ${span}.`
          : `${formatCount(history.answer.buckets.length)} bucket${history.answer.buckets.length === 1 ? "" : "s"} with readings in ${span}: mean line, min–max band.`
  const customInput = (field: CustomField, label: string) => {
    const id = `history-${field}`
    const error = fieldError?.field === field ? fieldError.message : null
    return (
      <div class="custom-bound">
        <label for={id}>{label}</label>
        <input
          id={id}
          type="datetime-local"
          value={text[field]}
          onInput={(e) => {
            const value = e.currentTarget.value
            setText((t) => ({ ...t, [field]: value }))
          }}
          aria-invalid={error !== null}
          aria-describedby={error === null ? undefined : `${id}-error`}
        />
        {error !== null && (
          <p id={`${id}-error`} class="error field-error" data-testid={`${id}-error`}>
            {error}
          </p>
        )}
      </div>
    )
  }

  return (
    <section class="panel chart-panel" aria-labelledby="history-title">
      <div class="chart-head">
        <h2 id="history-title">History</h2>
        <p class="meta interval" data-testid="history-interval" aria-live="polite">
          {history === null ? (range === "custom" && custom === null ? "" : "Loading…") : `${bucketLabel(history.answer.interval)}${history.answer.tier === "" ? "" : ` · ${tierLabel(history.answer.tier)}`}`}
        </p>
      </div>
      <div class="history-controls">
        <fieldset class="ranges">
          <legend>Range</legend>
          {[...RANGES, { id: "custom" as const, label: "Custom" }].map((r) => (
            <label key={r.id} class="range">
              <input type="radio" name="history-range" value={r.id} checked={range === r.id} onChange={() => choose(r.id)} />
              {r.label}
            </label>
          ))}
        </fieldset>
        <button type="button" class="secondary" onClick={() => setLoads((n) => n + 1)}>
          Refresh history
        </button>
      </div>
      {range === "custom" && (
        <form class="custom-range" onSubmit={apply} noValidate aria-label="Custom range, in this browser's time zone">
          {customInput("from", "From")}
          {customInput("to", "To")}
          <button type="submit" class="custom-show">
            Show
          </button>
        </form>
      )}
      <Problem what="Could not load the history" message={historyError} />
      <Chart
        label={`History of ${sensor}, ${span}`}
        summary={caption}
        testId="history-chart"
        height={CHART_HEIGHT}
        options={historyOptions}
        data={data}
        xRange={history === null ? null : [history.from / 1000, history.to / 1000]}
      />
    </section>
  )
}
