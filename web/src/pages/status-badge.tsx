/** A sensor status as a coloured badge; a status this dashboard does not know is drawn neutral. */
import type { ComponentChildren } from "preact"

/** The statuses the sensors list knows, in the order its filter offers them. */
export const STATUSES = ["online", "degraded", "fault", "offline", "unknown"] as const
const KNOWN = new Set<string>(STATUSES)

/** The colour class of a status: `status-fault`, or `status-other` for one this dashboard does not know. */
export const statusClass = (status: string) => `status-${KNOWN.has(status) ? status : "other"}`

export const StatusBadge = ({ status, testId, children }: { readonly status: string; readonly testId?: string; readonly children?: ComponentChildren }) => (
  <span class={`status ${statusClass(status)}`} data-testid={testId}>
    {children ?? status}
  </span>
)
