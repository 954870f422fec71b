/** How figures read on the pages: fixed locale-independent units, "–" for what is not known. */

export const NOT_KNOWN = "–"

export const formatCount = (n: number | null): string => (n === null ? NOT_KNOWN : Math.round(n).toLocaleString("en-US"))

export const formatValue = (v: number | null): string => (v === null ? NOT_KNOWN : v.toLocaleString("en-US", { maximumFractionDigits: 4 }))

/** A share 0..1 as a percentage: "0 %", "12.5 %", "<0.1 %" for a share too small to round to one. */
export const formatShare = (share: number | null): string => {
  if (share === null) return NOT_KNOWN
  if (share > 0 && share < 0.0005) return "<0.1 %"
  return `${(share * 100).toLocaleString("en-US", { maximumFractionDigits: 1 })} %`
}

export const formatRate = (perSecond: number | null): string =>
  perSecond === null ? NOT_KNOWN : `${perSecond.toLocaleString("en-US", { maximumFractionDigits: perSecond < 10 ? 1 : 0 })}/s`

export const formatSeconds = (s: number | null): string => {
  if (s === null) return NOT_KNOWN
  if (s < 1) return `${(s * 1000).toLocaleString("en-US", { maximumFractionDigits: s < 0.01 ? 2 : 1 })} ms`
  return `${s.toLocaleString("en-US", { maximumFractionDigits: 2 })} s`
}

// sv-SE writes ISO-like local times (2026-12-06 03:54:45), unambiguous in every locale.
const TIME = new Intl.DateTimeFormat("sv-SE", { dateStyle: "short", timeStyle: "medium" })

export const formatTime = (epochMs: number): string => TIME.format(new Date(epochMs))
