/**
 * A page's title: the document's title too, and focused when the page opens so that a screen
 * reader announces the new page after a navigation (hash routing does not reload).
 */
import { useEffect, useRef } from "preact/hooks"

export const PageHeading = ({ id, title, focus = true }: { readonly id: string; readonly title: string; readonly focus?: boolean }) => {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    document.title = `${title} · flowmesh`
    if (focus) heading.current?.focus()
  }, [title, focus])
  return (
    <h1 id={id} ref={heading} tabIndex={-1}>
      {title}
    </h1>
  )
}
