/**
 * Device and API keys: 32 random bytes (256 bits) behind a readable prefix, shown once, stored as
 * HMAC-SHA256(pepper, key). A slow password hash (scrypt, argon2) protects low-entropy secrets a
 * human chose; these keys cannot be guessed or brute-forced offline (2^256), so a fast keyed hash
 * is enough, lets the edge look a key up by its hash in one index probe, and the server-side
 * pepper (never in the database) makes a stolen table useless on its own.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"

export type KeyKind = "device" | "service"

const PREFIX: Record<KeyKind, string> = { device: "fmd_", service: "fms_" }
const KEY_SHAPE = /^fm[ds]_[A-Za-z0-9_-]{43}$/

export const generateKey = (kind: KeyKind): string => PREFIX[kind] + randomBytes(32).toString("base64url")

/** A key's public id, for listing and revoking: never derived from the secret part. */
export const generateKeyId = (): string => `key_${randomBytes(9).toString("base64url")}`

export const looksLikeKey = (s: string): boolean => KEY_SHAPE.test(s)

export const hashKey = (pepper: string, key: string): string => createHmac("sha256", pepper).update(key).digest("hex")

/** What a listing shows of a key: its prefix and first characters, enough to tell keys apart. */
export const keyHint = (key: string): string => `${key.slice(0, 10)}…`

/** Constant-time comparison for a secret configured in full (the bootstrap admin key). */
export const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
