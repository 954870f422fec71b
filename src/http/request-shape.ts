/**
 * What a request must look like before any route sees it: a target whose percent-escapes spell
 * UTF-8, and a body, where a route takes one, that says it is JSON. Plain functions over the
 * request line and headers; the edge middleware turns a "no" into the answer.
 */

const decodes = (component: string): boolean => {
  try {
    decodeURIComponent(component)
    return true
  } catch {
    return false
  }
}

const ENCODING_RULE = "is not percent-encoded UTF-8 (a bad %-escape, an overlong form or a surrogate)"

/** The part named as a client knows it: a query parameter's name when it decodes, else `query`. */
const queryPart = (pair: string): string => {
  const eq = pair.indexOf("=")
  const name = eq === -1 ? pair : pair.slice(0, eq)
  return name !== "" && decodes(name) ? decodeURIComponent(name.replace(/\+/g, " ")) : "query"
}

/**
 * What is wrong with a request target, as `<part>: <reason>`, or null: a percent-encoding that is
 * not UTF-8 (a bad `%` escape, an overlong form such as `%C0%AE`, an encoded surrogate), or a raw
 * `;` or `#` in the path, which the router takes for the path's end (`/sensors/a;b` would answer
 * sensor `a`). Targets without `%`, `;` or `#` cost two scans.
 */
export const targetProblem = (url: string): string | null => {
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  if (path.includes(";") || path.includes("#")) return "path: ';' and '#' must be percent-encoded (%3B, %23)"
  if (!url.includes("%")) return null
  if (!decodes(path)) return `path: ${ENCODING_RULE}`
  if (q === -1) return null
  for (const pair of url.slice(q + 1).split("&")) {
    if (!decodes(pair)) return `${queryPart(pair)}: ${ENCODING_RULE}`
  }
  return null
}

/** `application/json`, optionally with `charset=utf-8`: the one body type the API reads. */
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i

export const isJsonMediaType = (contentType: string): boolean => JSON_MEDIA_TYPE.test(contentType.trim())

/** Whether the request carries a body: a length above zero, or one sent in chunks. */
export const hasBody = (headers: Readonly<Record<string, string | undefined>>): boolean => {
  const length = headers["content-length"]
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
}
