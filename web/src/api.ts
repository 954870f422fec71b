/**
 * The node's HTTP API as the dashboard calls it: same origin, the credential (if any) as a Bearer
 * header, answers decoded here before any page uses them. A 401 means the session is over: the
 * caller's `refused` sends the user back to sign-in.
 */
import { type Me, meOf } from "./me.js"
import { isRecord } from "./records.js"

export { isRecord } from "./records.js"
export { describeMe, type Me, mayOperate, meOf } from "./me.js"


export interface ApiFailure {
  readonly status: number
  readonly error: string
  readonly message: string
  /** The error body's `details`, when it has any (a 400 or 422 lists every bad field in `details.issues`). */
  readonly details?: unknown
}

export type ApiAnswer<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly failure: ApiFailure }

/** Who calls: the credential (null with AUTH_MODE=none), who the node says it is, and what to do when the node refuses it. */
export interface Access {
  readonly credential: string | null
  readonly me: Me
  readonly refused: (failure: ApiFailure) => void
}

export const authHeaders = (credential: string | null): Record<string, string> =>
  credential === null ? {} : { authorization: `Bearer ${credential}` }

const failureOf = async (response: Response): Promise<ApiFailure> => {
  const text = await response.text()
  let body: unknown = null
  try {
    body = JSON.parse(text)
  } catch {
    body = null
  }
  if (isRecord(body) && typeof body.error === "string" && typeof body.message === "string") {
    return { status: response.status, error: body.error, message: body.message, ...(body.details === undefined ? {} : { details: body.details }) }
  }
  return { status: response.status, error: `http_${response.status}`, message: text.slice(0, 200) || response.statusText }
}

export interface CallOptions {
  /** Statuses whose body is the answer (default 200): /ready answers 503 with the same body. */
  readonly answered?: ReadonlyArray<number>
  readonly signal?: AbortSignal
}

/** `init` sent to `path`, the body read by `read` (null: not the expected shape). */
const answerOf = async <A>(path: string, init: RequestInit, read: (response: Response) => Promise<A | null>, options: CallOptions): Promise<ApiAnswer<A>> => {
  let response: Response
  try {
    response = await fetch(path, { ...init, cache: "no-store", signal: options.signal ?? null })
  } catch (e) {
    return { ok: false, failure: { status: 0, error: "network", message: e instanceof Error ? e.message : String(e) } }
  }
  if (!(options.answered ?? [200]).includes(response.status)) return { ok: false, failure: await failureOf(response) }
  const value = await read(response).catch(() => null)
  return value === null
    ? { ok: false, failure: { status: response.status, error: "unexpected_answer", message: `${path}: the node answered in a shape this dashboard does not know` } }
    : { ok: true, value }
}

/** GET `path` with `credential`, the body read by `read` (null: not the expected shape). */
export const fetchAnswer = <A>(
  path: string,
  credential: string | null,
  read: (response: Response) => Promise<A | null>,
  options: CallOptions = {}
): Promise<ApiAnswer<A>> => answerOf(path, { headers: authHeaders(credential) }, read, options)

/** As `fetchAnswer`, for a signed-in page: a 401 ends the session. */
export const call = async <A>(access: Access, path: string, read: (response: Response) => Promise<A | null>, options: CallOptions = {}) => {
  const answer = await fetchAnswer(path, access.credential, read, options)
  if (!answer.ok && answer.failure.status === 401) access.refused(answer.failure)
  return answer
}

/** `method` `path` with `body` as JSON, for a signed-in page: as `call` (a 401 ends the session; a 403 is the caller's role). */
export const send = async <A>(
  access: Access,
  method: "POST" | "PUT",
  path: string,
  body: unknown,
  read: (response: Response) => Promise<A | null>,
  options: CallOptions = {}
): Promise<ApiAnswer<A>> => {
  const headers = { ...authHeaders(access.credential), "content-type": "application/json" }
  const answer = await answerOf(path, { method, headers, body: JSON.stringify(body) }, read, options)
  if (!answer.ok && answer.failure.status === 401) access.refused(answer.failure)
  return answer
}

export const json =
  <A>(decode: (u: unknown) => A | null) =>
  async (response: Response): Promise<A | null> =>
    decode(await response.json())

export const text = (response: Response): Promise<string | null> => response.text()

export type Probe =
  | { readonly _tag: "Granted"; readonly me: Me }
  | { readonly _tag: "Refused"; readonly failure: ApiFailure }
  | { readonly _tag: "Unreachable"; readonly failure: ApiFailure }

/**
 * Who `credential` (or none) is, and whether it may read sensors: how the dashboard tells
 * AUTH_MODE=none (200 without a credential) from a node that wants one (401), checks a pasted key
 * or token, and learns its role. A device key authenticates but may only send readings: refused.
 */
export const probeAccess = async (credential: string | null): Promise<Probe> => {
  const answer = await fetchAnswer("/api/v1/me", credential, json(meOf))
  if (answer.ok) {
    const me = answer.value
    if (me.role !== null || me.superuser) return { _tag: "Granted", me }
    return { _tag: "Refused", failure: { status: 403, error: "forbidden", message: `${me.id} is a ${me.kind} key, which may only send readings` } }
  }
  const { failure } = answer
  return failure.status === 401 || failure.status === 403 ? { _tag: "Refused", failure } : { _tag: "Unreachable", failure }
}
