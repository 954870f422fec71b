/** One API call with a bearer credential (or none), its JSON answer parsed: the tests' view of the HTTP API. */
export interface ApiAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: Record<string, unknown> | null
}

export const apiCall = async (baseUrl: string, method: string, path: string, credential: string | null, body?: unknown): Promise<ApiAnswer> => {
  const response = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(credential === null ? {} : { authorization: `Bearer ${credential}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  const json = response.headers.get("content-type")?.includes("json") === true && text !== ""
  return { status: response.status, headers: response.headers, body: json ? (JSON.parse(text) as Record<string, unknown>) : null }
}
