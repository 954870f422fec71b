/**
 * The one timestamp range and precision flowmesh takes: whole epoch milliseconds from 1970 up to
 * 8.64e15 (the largest JavaScript Date, year 275760), all of which PostgreSQL's timestamptz stores
 * exactly. A device's fractional milliseconds are cut to the millisecond at decode, so the
 * sensor's duplicate check compares exactly what PostgreSQL keeps.
 */
export const MIN_EPOCH_MS = 0
export const MAX_EPOCH_MS = 8.64e15

/** Whole milliseconds, -0 as 0 (JSON cannot carry -0, and a restored sensor must equal the saved one). */
export const toEpochMs = (ms: number): number => Math.floor(ms) + 0

export const isEpochMs = (ms: number): boolean => ms >= MIN_EPOCH_MS && ms <= MAX_EPOCH_MS
