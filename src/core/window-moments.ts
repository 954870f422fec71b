/**
 * The running moments of a window (mean and M2 of value and of time, and their co-moment), kept
 * Welford-style (centred), which stays accurate while the data moves far from zero. Removing a
 * value that carried most of the spread cancels digits, so every update adds its magnitude to an
 * error budget and the moments are recomputed exactly from the ring once the budget dwarfs what is
 * left. That needs large values to have passed through since the last recompute, so the O(count)
 * recompute is rare and amortized O(1).
 */

/** Beyond this, squares could overflow; such a window reports NaN moments until the value leaves. */
const HUGE = 1e150
/** Recompute once the remaining M2 falls below this share of the accumulated error budget. */
const CANCELLATION_LIMIT = 1e-6

/** The ring the moments are over, and the moments themselves. */
export interface Moments {
  /** Slots allocated now: rings start small and double up to the window's limit as entries arrive. */
  capacity: number
  ts: Float64Array
  values: Float64Array
  head: number
  count: number
  /** Time enters the moments relative to this anchor so its squares keep their precision. */
  anchor: number
  meanV: number; m2V: number; meanT: number; m2T: number
  /** Co-moment of time and value, for the slope. */
  cTV: number
  /** Error budgets: accumulated magnitudes of the M2 updates since the last exact recompute. */
  errV: number; errT: number
}

export const isHuge = (ts: number, value: number): boolean => Math.abs(value) > HUGE || Math.abs(ts) > HUGE

export const resetMoments = (w: Moments, anchor: number): void => {
  w.anchor = anchor
  w.meanV = w.m2V = w.meanT = w.m2T = w.cTV = w.errV = w.errT = 0
}

/** Exact corrected two-pass moments over the buffer; only called when no entry is huge. */
export const recompute = (w: Moments): void => {
  const n = w.count
  resetMoments(w, n > 0 ? w.ts[w.head]! : 0)
  if (n === 0) return
  let sumV = 0, sumT = 0
  for (let k = 0, s = w.head; k < n; k++, s = s + 1 === w.capacity ? 0 : s + 1) {
    sumV += w.values[s]!
    sumT += w.ts[s]! - w.anchor
  }
  const mV = sumV / n, mT = sumT / n
  let dV = 0, dT = 0, qV = 0, qT = 0, c = 0
  for (let k = 0, s = w.head; k < n; k++, s = s + 1 === w.capacity ? 0 : s + 1) {
    const dv = w.values[s]! - mV
    const dt = w.ts[s]! - w.anchor - mT
    dV += dv; dT += dt; qV += dv * dv; qT += dt * dt; c += dt * dv
  }
  w.meanV = mV + dV / n
  w.meanT = mT + dT / n
  w.m2V = Math.max(0, qV - (dV * dV) / n)
  w.m2T = Math.max(0, qT - (dT * dT) / n)
  w.cTV = c - (dT * dV) / n
}

export const addMoments = (w: Moments, t: number, v: number): void => {
  const n = w.count
  const dv = v - w.meanV, dt = t - w.meanT
  w.meanV += dv / n
  w.meanT += dt / n
  const termV = dv * (v - w.meanV), termT = dt * (t - w.meanT)
  w.m2V += termV
  w.m2T += termT
  w.cTV += dt * (v - w.meanV)
  w.errV += termV + w.m2V
  w.errT += termT + w.m2T
}

/** Inverse of addMoments; `w.count` is already the count without the removed entry. */
export const removeMoments = (w: Moments, t: number, v: number): void => {
  const n = w.count
  const dv = v - w.meanV, dt = t - w.meanT
  const meanV = w.meanV - dv / n, meanT = w.meanT - dt / n
  const termV = dv * (v - meanV), termT = dt * (t - meanT)
  w.cTV -= (t - meanT) * dv
  w.meanV = meanV
  w.meanT = meanT
  w.m2V -= termV
  w.m2T -= termT
  w.errV += Math.abs(termV) + Math.abs(w.m2V)
  w.errT += Math.abs(termT) + Math.abs(w.m2T)
  if (w.m2V < w.errV * CANCELLATION_LIMIT || w.m2T < w.errT * CANCELLATION_LIMIT) recompute(w)
}
