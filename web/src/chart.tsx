/**
 * A uPlot time-series chart that fills its container's width (redrawn as the window resizes). The
 * canvas is an image to assistive technology: `label` names it and `summary` says in words what it
 * shows. `data-points` holds how many values are drawn (what the browser test watches).
 */
import { useEffect, useLayoutEffect, useRef } from "preact/hooks"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"

export interface ChartProps {
  readonly label: string
  readonly summary: string
  readonly testId: string
  readonly height: number
  /** Options without size; a new function recreates the chart (keep it stable). */
  readonly options: () => Omit<uPlot.Options, "width" | "height">
  readonly data: uPlot.AlignedData
  /** The x axis's span (epoch seconds), read at each redraw; null: the data's. */
  readonly xRange: readonly [number, number] | null
}

const pointsIn = (data: uPlot.AlignedData): number => {
  const ys = data[1]
  if (ys === undefined) return 0
  let n = 0
  for (const y of ys) if (typeof y === "number" && Number.isFinite(y)) n++
  return n
}

export const Chart = ({ label, summary, testId, height, options, data, xRange }: ChartProps) => {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const latest = useRef(data)
  latest.current = data
  const span = useRef(xRange)
  span.current = xRange

  useLayoutEffect(() => {
    const el = box.current
    if (el === null) return
    const base = options()
    const x: uPlot.Scale = { ...base.scales?.x, range: (_u, min, max) => (span.current === null ? [min, max] : [span.current[0], span.current[1]]) }
    const chart = new uPlot({ ...base, scales: { ...base.scales, x }, width: Math.max(200, el.clientWidth), height }, latest.current, el)
    plot.current = chart
    const observer = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth)
      if (width !== chart.width) chart.setSize({ width, height })
    })
    observer.observe(el)
    return () => {
      observer.disconnect()
      chart.destroy()
      plot.current = null
    }
  }, [options, height])

  useEffect(() => {
    plot.current?.setData(data)
  }, [data])

  return (
    <figure class="chart">
      <div ref={box} class="chart-plot" role="img" aria-label={label} data-testid={testId} data-points={pointsIn(data)} />
      <figcaption class="meta">{summary}</figcaption>
    </figure>
  )
}
