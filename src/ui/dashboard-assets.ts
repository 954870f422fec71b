/**
 * The web dashboard's built files (`web/dist`, written by `vite build web`), read once when the
 * node starts and kept in memory with a gzip copy of each compressible one: a browser's request
 * never touches the disk or the compressor. Their size is the bundle's, which the browser test
 * holds to its budget.
 */
import { createHash } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative, sep } from "node:path"
import { gzipSync } from "node:zlib"

export interface DashboardAsset {
  /** The URL path it is served at: `/` for index.html, `/assets/index-3f2a.js`... */
  readonly path: `/${string}`
  readonly contentType: string
  readonly cacheControl: string
  readonly body: Uint8Array
  /** Present when gzip makes it smaller. */
  readonly gzip: Uint8Array | null
  /** Weak: the gzip and identity encodings of one file are the same content. */
  readonly etag: string
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json"
}

const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/

/** Vite names what it emits under assets/ after a hash of the content: a new build is a new URL. */
const IMMUTABLE = "public, max-age=31536000, immutable"
/** Everything else (index.html first) is revalidated on each load, cheaply by its ETag. */
const REVALIDATE = "no-cache"

export const contentTypeOf = (file: string): string => {
  const dot = file.lastIndexOf(".")
  return (dot === -1 ? undefined : CONTENT_TYPES[file.slice(dot).toLowerCase()]) ?? "application/octet-stream"
}

/** Whether an Accept-Encoding header takes gzip (and does not refuse it with q=0). */
export const acceptsGzip = (acceptEncoding: string | undefined): boolean =>
  acceptEncoding?.split(",").some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(";")
    if (coding !== "gzip" && coding !== "*") return false
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="))
    return q === undefined || Number(q.slice(2)) > 0
  }) === true

/** If-None-Match against a weak ETag: any listed tag equal to it, weakly compared, or `*`. */
export const isNotModified = (ifNoneMatch: string | undefined, etag: string): boolean => {
  if (ifNoneMatch === undefined) return false
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "")
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag))
}

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })

/** The file `name` (its type is read off it), served at `path`. */
export const assetOf = (path: `/${string}`, name: string, body: Uint8Array): DashboardAsset => {
  const contentType = contentTypeOf(name)
  const zipped = COMPRESSIBLE.test(contentType) ? gzipSync(body, { level: 9 }) : null
  return {
    path,
    contentType,
    cacheControl: path.startsWith("/assets/") ? IMMUTABLE : REVALIDATE,
    body,
    gzip: zipped !== null && zipped.length < body.length ? zipped : null,
    etag: `W/"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
  }
}

/**
 * The dashboard in `dir`, by URL path, or null when it was not built (no index.html). index.html
 * is served at `/` only.
 */
export const loadDashboardAssets = (dir: string): ReadonlyMap<string, DashboardAsset> | null => {
  let files: Array<string>
  try {
    if (!statSync(join(dir, "index.html")).isFile()) return null
    files = filesUnder(dir)
  } catch {
    return null
  }
  const assets = new Map<string, DashboardAsset>()
  for (const file of files) {
    const rel = relative(dir, file).split(sep).join("/")
    const path: `/${string}` = rel === "index.html" ? "/" : `/${rel}`
    assets.set(path, assetOf(path, rel, readFileSync(file)))
  }
  return assets
}
