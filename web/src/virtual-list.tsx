/**
 * A table whose body renders only the rows in view (plus a few either side), each absolutely
 * placed at its index: 100,000 rows cost what 40 do. It stays a <table> (laid out as blocks and
 * grids), so assistive technology reads rows and columns. The body scrolls by keyboard once focused
 * (arrows, Page Up/Down, Home/End); row and column counts are announced through ARIA.
 */
import type { ComponentChildren } from "preact"
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks"

const OVERSCAN = 8

export interface VirtualListProps<T> {
  readonly label: string
  readonly columns: ReadonlyArray<string>
  readonly items: ReadonlyArray<T>
  /** Rows beyond `items` that exist but are not loaded yet: the count is unknown. */
  readonly more: boolean
  readonly rowHeight: number
  readonly rowKey: (item: T) => string
  readonly cells: (item: T) => ComponentChildren
  /** Told the index past the last row in view, so that the caller loads more near the end. */
  readonly onViewEnd: (end: number) => void
  /** A new value scrolls back to the top (a new search). */
  readonly resetKey: string
}

export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, rowHeight, onViewEnd } = props
  const body = useRef<HTMLTableSectionElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  const [height, setHeight] = useState(0)

  useLayoutEffect(() => {
    const el = body.current
    if (el === null) return
    setHeight(el.clientHeight)
    const observer = new ResizeObserver(() => setHeight(el.clientHeight))
    observer.observe(el)
    return () => observer.disconnect()
  }, [])

  useLayoutEffect(() => {
    if (body.current !== null) body.current.scrollTop = 0
    setScrollTop(0)
  }, [props.resetKey])

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN)
  const end = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN)

  useEffect(() => onViewEnd(end), [end, onViewEnd])

  const rows: Array<ComponentChildren> = []
  for (let i = first; i < end; i++) {
    const item = items[i]
    if (item === undefined) break
    rows.push(
      <tr key={props.rowKey(item)} aria-rowindex={i + 2} style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}>
        {props.cells(item)}
      </tr>
    )
  }

  return (
    <table aria-label={props.label} aria-rowcount={props.more ? -1 : items.length + 1} aria-colcount={props.columns.length} class="vtable">
      <thead>
        <tr aria-rowindex={1}>
          {props.columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      {/* Absolutely placed rows do not size the body: its ::after marks the end of the last row (--rows-height). */}
      <tbody
        class="vbody"
        ref={body}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scrolling body must take focus to scroll by keyboard
        tabIndex={0}
        aria-label={`${props.label}, scrollable`}
        style={{ "--rows-height": `${items.length * rowHeight}px` }}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        {rows}
      </tbody>
    </table>
  )
}
