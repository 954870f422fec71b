/**
 * JWT bearer tokens for users and services, verified with `jose`: HS256 with a shared secret
 * (`JWT_SECRET`), or RS256/ES256 against a JWKS URL (`JWT_JWKS_URL`, keys fetched and cached by
 * jose). Claims: `sub` (who), `tenant`, and `role` (or `roles`, the highest known one counts);
 * `iss`/`aud` are checked when configured, `exp`/`nbf` always, with a small clock tolerance.
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose"
import { ALL_SENSORS, type Principal } from "./principal.js"
import { highestRole } from "./roles.js"

export interface JwtSettings {
  readonly secret: string | null
  readonly jwksUrl: string | null
  readonly issuer: string | null
  readonly audience: string | null
}

export type JwtResult =
  | { readonly ok: true; readonly principal: Principal; readonly expiresAt: number | null }
  | { readonly ok: false; readonly message: string }

const TENANT_SHAPE = /^[a-z0-9][a-z0-9-]{0,31}$/

/** The principal a verified token names, or why its claims are not enough. */
export const principalOfClaims = (claims: JWTPayload): JwtResult => {
  if (typeof claims.sub !== "string" || claims.sub.length === 0) return { ok: false, message: "token: the sub claim is missing" }
  const tenant = claims.tenant
  if (typeof tenant !== "string" || !TENANT_SHAPE.test(tenant)) {
    return { ok: false, message: "token: the tenant claim is missing or not a tenant id (a-z 0-9 -, up to 32)" }
  }
  const roles = Array.isArray(claims.roles) ? claims.roles : [claims.role]
  const role = highestRole(roles)
  if (role === null) return { ok: false, message: "token: no role claim of viewer, operator or admin (role or roles)" }
  return {
    ok: true,
    principal: { kind: "user", id: claims.sub, tenant, role, scope: ALL_SENSORS, superuser: false },
    expiresAt: typeof claims.exp === "number" ? claims.exp * 1000 : null
  }
}

const describe = (e: unknown): string => {
  if (e instanceof errors.JWTExpired) return "token: expired"
  if (e instanceof errors.JWTClaimValidationFailed) return `token: claim ${e.claim} ${e.reason === "check_failed" ? "does not match" : e.reason}`
  if (e instanceof errors.JOSEAlgNotAllowed) return "token: algorithm not allowed"
  if (e instanceof errors.JWSSignatureVerificationFailed) return "token: signature does not verify"
  if (e instanceof errors.JWKSNoMatchingKey) return "token: no key of the JWKS matches its kid"
  if (e instanceof errors.JOSEError) return `token: ${e.code}`
  return "token: could not be verified"
}

export type JwtVerifier = (token: string) => Promise<JwtResult>

/** Null when neither a secret nor a JWKS URL is configured: tokens are then refused as unknown credentials. */
export const makeJwtVerifier = (s: JwtSettings): JwtVerifier | null => {
  const options = {
    ...(s.issuer === null ? {} : { issuer: s.issuer }),
    ...(s.audience === null ? {} : { audience: s.audience }),
    clockTolerance: 5
  }
  const check = async (verify: () => Promise<{ readonly payload: JWTPayload }>): Promise<JwtResult> => {
    try {
      return principalOfClaims((await verify()).payload)
    } catch (e) {
      return { ok: false, message: describe(e) }
    }
  }
  if (s.jwksUrl !== null) {
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(s.jwksUrl))
    return (token) => check(() => jwtVerify(token, jwks, { ...options, algorithms: ["RS256", "ES256"] }))
  }
  if (s.secret !== null) {
    const key = new TextEncoder().encode(s.secret)
    return (token) => check(() => jwtVerify(token, key, { ...options, algorithms: ["HS256"] }))
  }
  return null
}
