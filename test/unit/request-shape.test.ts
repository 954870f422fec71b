import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { hasBody, isJsonMediaType, targetProblem } from "../../src/http/request-shape.js"

describe("request shape", () => {
  const ENCODING = "is not percent-encoded UTF-8 (a bad %-escape, an overlong form or a surrogate)"

  it("names the part of a target whose percent-encoding is not UTF-8", () => {
    expect(targetProblem("/api/v1/sensors/site-7%2Fpump?limit=5")).toBeNull()
    expect(targetProblem("/api/v1/sensors/%C0%AE")).toBe(`path: ${ENCODING}`)
    expect(targetProblem("/api/v1/sensors/%ED%A0%80")).toBe(`path: ${ENCODING}`)
    expect(targetProblem("/api/v1/sensors/%")).toBe(`path: ${ENCODING}`)
    expect(targetProblem("/api/v1/sensors?prefix=%ff&limit=2")).toBe(`prefix: ${ENCODING}`)
    expect(targetProblem("/api/v1/sensors?limit=2&pre%C0fix=a")).toBe(`query: ${ENCODING}`)
    expect(targetProblem("/api/v1/sensors?prefix=%E2%82%AC")).toBeNull()
  })

  it("refuses a raw ';' or '#' in the path, which the router would take for its end", () => {
    expect(targetProblem("/api/v1/sensors/a;b")).toBe("path: ';' and '#' must be percent-encoded (%3B, %23)")
    expect(targetProblem("/api/v1/sensors/a#b")).toBe("path: ';' and '#' must be percent-encoded (%3B, %23)")
    expect(targetProblem("/api/v1/sensors/a%3Bb?q=a;b")).toBeNull()
  })

  it("takes every path decodeURIComponent takes, but for a raw ';' or '#'", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("%", "%2", "%zz", "%C0", "%AE", "%ED", "%A0", "%80", "%E2", "%82", "%AC", "%F0", "%9F"), fc.webSegment())), (parts) => {
        const path = `/${parts.join("")}`
        const sound = (() => {
          try {
            decodeURIComponent(path)
            return true
          } catch {
            return false
          }
        })()
        expect(targetProblem(path) === null).toBe(sound && !/[;#]/.test(path))
      })
    )
  })

  it("takes application/json with a utf-8 charset at most", () => {
    for (const ok of ["application/json", "Application/JSON", "application/json; charset=utf-8", 'application/json;charset="UTF-8"']) expect(isJsonMediaType(ok), ok).toBe(true)
    for (const bad of ["text/plain", "multipart/form-data; boundary=xyz", "application/vnd.x+json", "application/json; charset=latin1", "application/jsonx", ""]) {
      expect(isJsonMediaType(bad), bad).toBe(false)
    }
  })

  it("knows a request with a body from one without", () => {
    expect(hasBody({})).toBe(false)
    expect(hasBody({ "content-length": "0" })).toBe(false)
    expect(hasBody({ "content-length": "2" })).toBe(true)
    expect(hasBody({ "transfer-encoding": "chunked" })).toBe(true)
  })
})
