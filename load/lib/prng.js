// @ts-check
// Seeded randomness shared by the k6 scripts and the Node driver: no k6 or Node imports.

/**
 * Mulberry32: a tiny, fast 32-bit generator, good enough to drive load (not for cryptography).
 * @param {number} seed any number; only its low 32 bits count
 * @returns {() => number} uniform in [0, 1)
 */
export const mulberry32 = (seed) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Murmur3's 32-bit finalizer: spreads every input bit over the output.
 * @param {number} x
 * @returns {number} an unsigned 32-bit integer
 */
const fmix32 = (x) => {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Hashes two numbers into 32 bits, so a draw can be keyed by (seed, sensor, time) instead of by call
 * order. Integers up to 2^53 keep all their bits (both halves are mixed in).
 * @param {number} a
 * @param {number} b
 * @returns {number} an unsigned 32-bit integer
 */
export const hash32 = (a, b) => {
  const high = Math.floor(b / 4294967296)
  return fmix32(fmix32(a) ^ Math.imul(fmix32(b >>> 0) ^ fmix32(high + 0x9e3779b9), 0x27d4eb2f))
}

/**
 * The k-th uniform number of a hashed key: cheap, allocation-free draws for hot loops.
 * @param {number} key from hash32
 * @param {number} k which draw
 * @returns {number} uniform in [0, 1)
 */
export const uniformAt = (key, k) => fmix32(key + Math.imul(k + 1, 0x9e3779b9)) / 4294967296
