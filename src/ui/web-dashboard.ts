/**
 * The built-in web dashboard: `web/dist` served at `/` (index.html) and its assets beside the API,
 * on the API's router, so the edge's security headers, 404s and 405s apply as to every route. Hash
 * routing in the app means no other path is the app's. Not built (no `web/dist/index.html`): `/`
 * answers 503 saying how to build it, and the API is unchanged.
 */
import { fileURLToPath } from "node:url"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { acceptsGzip, type DashboardAsset, isNotModified, loadDashboardAssets } from "./dashboard-assets.js"

/** `web/dist` of the checkout or image: two folders up from this module, in src/ui/ and dist/ui/ alike. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../../web/dist", import.meta.url))

/**
 * The page may load its own scripts, styles and images, and talk to its own origin (API and
 * WebSocket); nothing inline, nothing from elsewhere, never framed.
 */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const NOT_BUILT = `The web dashboard is not built: run \`npm run build\` (or \`npm install\`), then restart the node.
The API is served as usual: /docs, /openapi.json, /api/v1/...
`

const answer = (asset: DashboardAsset) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const headers: Record<string, string> = {
      "cache-control": asset.cacheControl,
      etag: asset.etag,
      ...(asset.path === "/" ? { "content-security-policy": PAGE_CSP } : {}),
      ...(asset.gzip === null ? {} : { vary: "accept-encoding" })
    }
    if (isNotModified(request.headers["if-none-match"], asset.etag)) return HttpServerResponse.empty({ status: 304, headers })
    return asset.gzip !== null && acceptsGzip(request.headers["accept-encoding"])
      ? HttpServerResponse.uint8Array(asset.gzip, { contentType: asset.contentType, headers: { ...headers, "content-encoding": "gzip" } })
      : HttpServerResponse.uint8Array(asset.body, { contentType: asset.contentType, headers })
  })

/** Another method on a dashboard path: 405 naming the allowed ones, in the API's error shape. */
const methodNotAllowed = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const path = request.url.split("?")[0] ?? request.url
  return HttpServerResponse.unsafeJson(
    { error: "method_not_allowed", message: `${request.method} ${path}: allowed GET, HEAD` },
    { status: 405, headers: { allow: "GET, HEAD" } }
  )
})

/** Routes for the dashboard found in `dir`, read once at start-up. */
export const webDashboard = (dir: string) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function* () {
      const assets = loadDashboardAssets(dir)
      if (assets === null) {
        yield* Effect.logWarning("web dashboard not built: / answers 503 until `npm run build` has run", { dir })
        yield* router.get("/", Effect.succeed(HttpServerResponse.text(NOT_BUILT, { status: 503, headers: { "cache-control": "no-store" } })))
        return
      }
      for (const asset of assets.values()) {
        yield* router.get(asset.path, answer(asset))
        for (const add of [router.post, router.put, router.patch, router.del, router.options]) yield* add(asset.path, methodNotAllowed)
      }
    })
  )

export const WebDashboardLive = webDashboard(DASHBOARD_DIR)
