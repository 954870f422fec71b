/** How the node serves the dashboard's files: paths, content types, cache policy, gzip, ETags. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { afterAll, describe, expect, it } from "vitest"
import { acceptsGzip, isNotModified, loadDashboardAssets } from "../../src/ui/dashboard-assets.js"

const dir = mkdtempSync(join(tmpdir(), "flowmesh-dashboard-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("dashboard assets", () => {
  it("is not there without index.html", () => {
    expect(loadDashboardAssets(join(dir, "missing"))).toBeNull()
  })

  it("serves index.html at / revalidated, hashed assets immutable, each with its type and a smaller gzip copy", () => {
    mkdirSync(join(dir, "assets"), { recursive: true })
    writeFileSync(join(dir, "index.html"), `<!doctype html>${"<p>flowmesh</p>".repeat(100)}`)
    writeFileSync(join(dir, "assets/index-AbC123.js"), "export const x = 1;\n".repeat(200))
    writeFileSync(join(dir, "assets/logo-Xy9.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]))
    const assets = loadDashboardAssets(dir)!
    expect([...assets.keys()].sort()).toEqual(["/", "/assets/index-AbC123.js", "/assets/logo-Xy9.png"])
    const index = assets.get("/")!
    expect(index).toMatchObject({ contentType: "text/html; charset=utf-8", cacheControl: "no-cache" })
    const js = assets.get("/assets/index-AbC123.js")!
    expect(js).toMatchObject({ contentType: "text/javascript; charset=utf-8", cacheControl: "public, max-age=31536000, immutable" })
    expect(js.gzip!.length).toBeLessThan(js.body.length)
    expect(gunzipSync(js.gzip!).equals(Buffer.from(js.body))).toBe(true)
    expect(assets.get("/assets/logo-Xy9.png")).toMatchObject({ contentType: "image/png", gzip: null })
  })

  it.each([
    ["gzip, deflate, br", true],
    ["br;q=1.0, gzip;q=0.8", true],
    ["gzip;q=0", false],
    ["identity", false],
    ["*", true],
    [undefined, false]
  ])("Accept-Encoding %s takes gzip: %s", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected)
  })

  it("answers If-None-Match by weak comparison, in a list or with *", () => {
    expect(isNotModified('W/"abc"', 'W/"abc"')).toBe(true)
    expect(isNotModified('"x", "abc"', 'W/"abc"')).toBe(true)
    expect(isNotModified("*", 'W/"abc"')).toBe(true)
    expect(isNotModified('"abd"', 'W/"abc"')).toBe(false)
    expect(isNotModified(undefined, 'W/"abc"')).toBe(false)
  })
})
