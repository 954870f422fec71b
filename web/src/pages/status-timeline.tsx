/**
 * A sensor's status timeline: a bar from its oldest kept change to now, coloured by status, and the
 * changes newest first with their reasons. The node keeps a sensor's last 20 changes.
 */
import { formatTime } from "../format"
import { segmentsOf, type Transition } from "../status-timeline"
import { StatusBadge, statusClass } from "./status-badge"
import { TableHead } from "../table-head"

const MAX_KEPT = 20

const When = ({ at }: { readonly at: number }) => <time dateTime={new Date(at).toISOString()}>{formatTime(at)}</time>

export const StatusTimeline = ({ transitions, now }: { readonly transitions: ReadonlyArray<Transition>; readonly now: number }) => {
  const segments = segmentsOf(transitions, now)
  return (
    <section class="panel timeline-panel" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Status timeline</h2>
      <p class="meta">The last {MAX_KEPT} changes the node keeps, newest first.</p>
      {segments.length === 0 ? (
        <p class="meta">No status changes yet: the first reading makes the sensor online.</p>
      ) : (
        <>
          <div class="timeline-bar" aria-hidden="true" data-testid="timeline-bar">
            {segments.map((s) => (
              <span
                key={s.from}
                class={`timeline-segment ${statusClass(s.status)}`}
                style={{ flexGrow: s.share }}
                title={`${s.status} from ${formatTime(s.from)}${s.reason === "" ? "" : `: ${s.reason}`}`}
              />
            ))}
          </div>
          <p class="meta timeline-scale" aria-hidden="true">
            <When at={transitions[0]!.at} />
            <span>now</span>
          </p>
          <div class="table-scroll">
            <table class="alerts-table timeline-table" aria-label="Status changes, newest first" data-testid="timeline-table">
              <TableHead columns={["When", "Change", "Reason"]} />
              <tbody>
                {transitions
                  .slice()
                  .reverse()
                  .map((t) => (
                    <tr key={`${t.at}-${t.to}`}>
                      <td>
                        <When at={t.at} />
                      </td>
                      <td>
                        <StatusBadge status={t.from} /> → <StatusBadge status={t.to} />
                      </td>
                      <td>{t.reason}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  )
}
