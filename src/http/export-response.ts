/**
 * Streamed exports: a query's rows as CSV or NDJSON, written as PostgreSQL hands them over (a
 * cursor, 128 rows at a time) and only as fast as the client reads (the server waits for the
 * socket to drain before it pulls more), so an export of any size holds a few chunks in memory. A
 * client that goes away interrupts the stream, which closes the cursor and frees its connection.
 * Each export holds a pool connection while it runs, so at most EXPORT_MAX_CONCURRENT run at
 * once per node; past that the answer is 503 with Retry-After.
 */
import { HttpServerResponse } from "@effect/platform"
import { Chunk, Effect, Stream } from "effect"
import { AppConfig } from "../config.js"
import { ServiceUnavailable } from "./errors.js"

export type ExportFormat = "csv" | "ndjson"

const CONTENT_TYPE: Record<ExportFormat, string> = { csv: "text/csv; charset=utf-8", ndjson: "application/x-ndjson" }

/**
 * The export format asked for: `format=` wins, then an Accept header naming text/csv or
 * application/x-ndjson; null for the JSON page.
 */
export const exportFormat = (format: string | undefined, accept: string | undefined): ExportFormat | null => {
  if (format === "csv" || format === "ndjson") return format
  if (format === "json") return null
  const a = accept?.toLowerCase() ?? ""
  if (a.includes("text/csv")) return "csv"
  if (a.includes("application/x-ndjson") || a.includes("application/ndjson")) return "ndjson"
  return null
}

/** A CSV field: quoted when it holds a comma, quote or line break. */
const csvField = (v: unknown): string => {
  const s = v === null || v === undefined ? "" : String(v)
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

export interface ExportColumns<Row> {
  readonly header: ReadonlyArray<string>
  /** One row's values, in header order (for CSV) and as an object (for NDJSON). */
  readonly values: (row: Row) => ReadonlyArray<unknown>
}

/** A file name of safe characters: the sensor id's other characters become `_`. */
export const exportFileName = (parts: ReadonlyArray<string | number>, extension: string): string =>
  `${parts.map((p) => String(p).replace(/[^A-Za-z0-9._-]/g, "_")).join("_")}.${extension}`

/** Encodes rows chunk by chunk: one string and one buffer per chunk of rows, never the whole export. */
export const encodeRows = <Row, E>(rows: Stream.Stream<Row, E>, columns: ExportColumns<Row>, format: ExportFormat): Stream.Stream<Uint8Array, E> => {
  const encoder = new TextEncoder()
  const head = format === "csv" ? Stream.make(encoder.encode(`${columns.header.join(",")}\n`)) : Stream.empty
  const body = Stream.mapChunks(rows, (chunk) => {
    let text = ""
    for (const row of chunk) {
      const values = columns.values(row)
      if (format === "csv") {
        text += `${values.map(csvField).join(",")}\n`
      } else {
        const object: Record<string, unknown> = {}
        for (let i = 0; i < columns.header.length; i++) object[columns.header[i]!] = values[i]
        text += `${JSON.stringify(object)}\n`
      }
    }
    return text === "" ? Chunk.empty() : Chunk.of(encoder.encode(text))
  })
  return Stream.concat(head, body)
}

/** Gate of concurrent exports on this node. */
export const makeExportGate = (max: number) => {
  let running = 0
  /**
   * The response streaming `body`, or 503 when `max` exports are running. The export counts from
   * its first pull to its end or interruption, so an answer that is never streamed holds nothing.
   */
  const respond = <E>(body: Stream.Stream<Uint8Array, E>, format: ExportFormat, fileName: string) =>
    Effect.suspend(() => {
      if (running >= max) {
        return Effect.fail(new ServiceUnavailable({ message: `${max} exports are already running on this node (EXPORT_MAX_CONCURRENT); retry later` }))
      }
      const counted = Stream.unwrapScoped(
        Effect.acquireRelease(
          Effect.sync(() => {
            running++
          }),
          () =>
            Effect.sync(() => {
              running--
            })
        ).pipe(Effect.as(body))
      )
      return Effect.succeed(
        HttpServerResponse.stream(counted, {
          contentType: CONTENT_TYPE[format],
          headers: { "content-disposition": `attachment; filename="${fileName}"`, "cache-control": "no-store" }
        })
      )
    })
  return { respond, running: () => running }
}

/** The node's one export gate (history and aggregates exports share it). */
export class ExportGate extends Effect.Service<ExportGate>()("flowmesh/ExportGate", {
  effect: Effect.map(AppConfig, (config) => makeExportGate(config.history.exportMaxConcurrent))
}) {}
