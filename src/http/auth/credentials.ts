/**
 * Where a caller's credential is read from: `Authorization: Bearer <key or JWT>`, `X-Device-Key`
 * (the seed's contract) or `X-API-Key`; on WebSocket upgrades also `?access_token=` or, kept out of
 * URLs and so out of proxy and access logs, a `Sec-WebSocket-Protocol` entry
 * `flowmesh.bearer.<base64url of the credential>` offered beside `flowmesh.v1` (a browser's
 * WebSocket cannot set headers; the node answers `flowmesh.v1`, never the credential). A JWT is told
 * from a key by its shape (three base64url parts).
 */
export type Credential =
  | { readonly _tag: "None" }
  | { readonly _tag: "Key"; readonly key: string }
  | { readonly _tag: "Jwt"; readonly token: string }
  | { readonly _tag: "Malformed"; readonly message: string }

const NONE: Credential = { _tag: "None" }
const MAX_CREDENTIAL = 8_192
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const TOKEN_CHARS = /^[\x21-\x7e]+$/

const classify = (raw: string, where: string): Credential => {
  const value = raw.trim()
  if (value.length === 0) return { _tag: "Malformed", message: `${where}: empty credential` }
  if (value.length > MAX_CREDENTIAL) return { _tag: "Malformed", message: `${where}: longer than ${MAX_CREDENTIAL} characters` }
  if (!TOKEN_CHARS.test(value)) return { _tag: "Malformed", message: `${where}: only printable ASCII without spaces is allowed` }
  return JWT_SHAPE.test(value) ? { _tag: "Jwt", token: value } : { _tag: "Key", key: value }
}

/** The subprotocol the node answers a WebSocket client that offers it (with or without a credential). */
export const WS_PROTOCOL = "flowmesh.v1"
/** A subprotocol carrying a credential: this prefix, then the credential in base64url. */
export const WS_BEARER_PREFIX = "flowmesh.bearer."

const BASE64URL = /^[A-Za-z0-9_-]+$/

/** The credential offered in `Sec-WebSocket-Protocol`, or undefined when none is. */
const protocolCredential = (header: string | undefined): Credential | undefined => {
  if (header === undefined) return undefined
  const offered = header.split(",").map((p) => p.trim()).find((p) => p.startsWith(WS_BEARER_PREFIX))
  if (offered === undefined) return undefined
  const encoded = offered.slice(WS_BEARER_PREFIX.length)
  if (!BASE64URL.test(encoded)) return { _tag: "Malformed", message: `Sec-WebSocket-Protocol: ${WS_BEARER_PREFIX} must be followed by the credential in base64url` }
  return classify(Buffer.from(encoded, "base64url").toString("latin1"), "Sec-WebSocket-Protocol")
}

/**
 * The subprotocol to answer from those a client offers: flowmesh.v1 when offered, else the first
 * that carries no credential (as the server did before it knew any), else none.
 */
export const selectProtocol = (offered: ReadonlySet<string>): string | false => {
  if (offered.has(WS_PROTOCOL)) return WS_PROTOCOL
  for (const p of offered) if (!p.startsWith(WS_BEARER_PREFIX)) return p
  return false
}

type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const single = (h: Headers, name: string): string | undefined => {
  const v = h[name]
  return typeof v === "string" ? v : v?.[0]
}

/** Reads the credential from lower-cased request headers (and, for upgrades, the query). */
export const readCredential = (headers: Headers, query?: URLSearchParams): Credential => {
  const authorization = single(headers, "authorization")
  if (authorization !== undefined) {
    const m = /^Bearer[ \t]+(.*)$/i.exec(authorization)
    if (m === null) return { _tag: "Malformed", message: "Authorization: expected the Bearer scheme (Authorization: Bearer <key or token>)" }
    return classify(m[1] ?? "", "Authorization")
  }
  const deviceKey = single(headers, "x-device-key")
  if (deviceKey !== undefined) return classify(deviceKey, "X-Device-Key")
  const apiKey = single(headers, "x-api-key")
  if (apiKey !== undefined) return classify(apiKey, "X-API-Key")
  if (query === undefined) return NONE
  const token = query.get("access_token")
  if (token !== null) return classify(token, "access_token")
  return protocolCredential(single(headers, "sec-websocket-protocol")) ?? NONE
}
