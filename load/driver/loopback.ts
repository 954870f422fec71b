/**
 * The load driver only ever targets this machine: a mistyped URL must not turn a benchmark into
 * an attack on someone else's server.
 */
const LOOPBACK_HOSTS = new Set(["localhost", "::1", "[::1]"])

export const isLoopback = (hostname: string): boolean =>
  LOOPBACK_HOSTS.has(hostname.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(hostname)

/** Null when the URL is an http(s) URL on loopback, else why not. */
export const loopbackProblem = (url: string): string | null => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `--url: not a URL: ${JSON.stringify(url)}`
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `--url: must be http:// or https://, got ${parsed.protocol}`
  if (!isLoopback(parsed.hostname)) return `--url: the load driver targets loopback only (127.0.0.0/8, ::1, localhost), got ${parsed.hostname}`
  return null
}
