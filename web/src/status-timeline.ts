/**
 * The sensor page's status timeline, without the browser: the transitions the node keeps (the last
 * 20 of GET /api/v1/sensors/{id}'s `state.transitions`) decoded, and turned into segments of a bar
 * from the oldest change to now, each a status with its share of that span. No imports: the unit
 * tests load it under Node.
 */

export interface Transition {
  readonly from: string
  readonly to: string
  readonly at: number
  readonly reason: string
}

export interface Segment {
  readonly status: string
  readonly from: number
  readonly to: number
  /** Share of the bar, 0..1; the shares add up to 1. */
  readonly share: number
  readonly reason: string
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The transitions of a state, oldest first; anything that is not one is left out. */
export const transitionsOf = (u: unknown): ReadonlyArray<Transition> => {
  if (!Array.isArray(u)) return []
  const out: Array<Transition> = []
  for (const t of u) {
    if (isRecord(t) && typeof t.from === "string" && typeof t.to === "string" && typeof t.at === "number" && Number.isFinite(t.at)) {
      out.push({ from: t.from, to: t.to, at: t.at, reason: typeof t.reason === "string" ? t.reason : "" })
    }
  }
  return out.sort((a, b) => a.at - b.at)
}

/**
 * Segments from the oldest transition to `now`: each transition starts the segment of its `to`
 * status, which lasts until the next one. A clock that has `now` before the last change (another
 * node's) still gives non-negative spans; with no span at all each segment gets an equal share.
 */
export const segmentsOf = (transitions: ReadonlyArray<Transition>, now: number): ReadonlyArray<Segment> => {
  if (transitions.length === 0) return []
  const end = Math.max(now, transitions[transitions.length - 1]!.at)
  const spans = transitions.map((t, i) => {
    const to = i + 1 < transitions.length ? transitions[i + 1]!.at : end
    return { status: t.to, from: t.at, to, reason: t.reason }
  })
  const total = end - transitions[0]!.at
  return spans.map((s) => ({ ...s, share: total > 0 ? (s.to - s.from) / total : 1 / spans.length }))
}
