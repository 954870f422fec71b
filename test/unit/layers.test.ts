/**
 * The one-way layering of DESIGN.md section 1, read off the import graph: every relative import of
 * a file under src/ must point to its own folder or to a lower layer. Folders of one layer (the
 * channels) may not import each other, so no folder cycle can form. A failure names the file, the
 * line and both layers. Imports are read with TypeScript's own pre-processor (type-only imports
 * included: a type is vocabulary too).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const SRC = resolve(import.meta.dirname, "../../src")

/** Layer of each top-level folder (or root file) of src/, top to bottom. */
const LAYERS: ReadonlyArray<ReadonlyArray<string>> = [
  ["main"],
  ["app"],
  ["http", "mqtt", "ui"], // edges
  ["ingest"],
  ["actors"],
  ["live", "alerts", "forward"], // channels: they use storage's connections (PostgreSQL, Redis) and the writer's commits
  ["storage"],
  ["core"], // pure sensor, rule and alert logic: no Effect, no I/O
  ["domain"], // vocabulary shared by all: ids, reasons, notification, tenancy, settings
  ["telemetry"],
  ["config"]
]
const rankOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, LAYERS.length - i] as const)))

const sources = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : []
  })

/** `http/ws/x.ts` → `http`; `app.ts` → `app`. */
const folderOf = (file: string): string => relative(SRC, file).split("/")[0]!.replace(/\.ts$/, "")

interface Import {
  readonly from: string
  readonly line: number
  readonly spec: string
  readonly to: string | null
}

const importsOf = (file: string): Array<Import> => {
  const text = readFileSync(file, "utf8")
  const lineOf = (pos: number) => text.slice(0, pos).split("\n").length
  return ts.preProcessFile(text, true, true).importedFiles.map((imp) => ({
    from: relative(SRC, file),
    line: lineOf(imp.pos),
    spec: imp.fileName,
    to: imp.fileName.startsWith(".") ? resolve(dirname(file), imp.fileName.replace(/\.js$/, ".ts")) : null
  }))
}

const files = sources(SRC)
const imports = files.flatMap(importsOf)

describe("layers (DESIGN.md section 1)", () => {
  it("knows the layer of every folder of src/", () => {
    const unknown = [...new Set(files.map(folderOf))].filter((f) => !rankOf.has(f))
    expect(unknown, "add new folders to LAYERS in test/unit/layers.test.ts").toEqual([])
  })

  it("every import points down (or within its own folder), never up or sideways", () => {
    const wrong: Array<string> = []
    for (const imp of imports) {
      if (imp.to === null) continue
      const a = folderOf(join(SRC, imp.from))
      const b = folderOf(imp.to)
      if (a === b) continue
      if (!imp.to.startsWith(SRC)) wrong.push(`src/${imp.from}:${imp.line} imports ${imp.spec}, outside src/`)
      else if ((rankOf.get(b) ?? 0) >= (rankOf.get(a) ?? 0)) {
        const how = rankOf.get(b) === rankOf.get(a) ? "sideways" : "up"
        wrong.push(`src/${imp.from}:${imp.line} (${a}) imports ${imp.spec} (${b}): ${how}`)
      }
    }
    expect(wrong).toEqual([])
  })

  it("the core is pure: it imports no package and nothing outside core and domain", () => {
    const wrong = imports
      .filter((imp) => folderOf(join(SRC, imp.from)) === "core")
      .filter((imp) => imp.to === null || !["core", "domain"].includes(folderOf(imp.to)))
      .map((imp) => `src/${imp.from}:${imp.line} imports ${imp.spec}`)
    expect(wrong).toEqual([])
  })

  it("what the core takes from domain is plain data, not Effect", () => {
    const used = new Set(
      imports.filter((imp) => folderOf(join(SRC, imp.from)) === "core" && imp.to !== null && folderOf(imp.to) === "domain").map((imp) => imp.to!)
    )
    const wrong = [...used].flatMap((f) => importsOf(f).filter((imp) => imp.to === null).map((imp) => `src/${imp.from}:${imp.line} imports ${imp.spec}, and the core imports it`))
    expect(wrong).toEqual([])
  })
})
