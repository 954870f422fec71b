/**
 * Aggregate pages as JSON bytes, written field by field from the typed rows in the shape the API
 * declares (AggregateBucket), the numbers as PostgreSQL wrote them (AggregateText). A year of hours
 * is 8,760 buckets, 140,000 numbers and 5 nested objects each: parsing those numbers, building the
 * objects, formatting the numbers again through JSON.stringify and encoding the 3 MB string as
 * UTF-8 cost more than the query. Here every piece is ASCII (PostgreSQL's number text) or encoded
 * once (ids, the page's fields), copied into one growing byte array.
 */
import type { AggregateText } from "../storage/aggregate-repo.js"

const utf8 = new TextEncoder()

/** A byte array written front to back, doubling when full. */
export class JsonBytes {
  private buf: Uint8Array
  private at = 0

  constructor(size = 64 * 1024) {
    this.buf = new Uint8Array(size)
  }

  private room(n: number): Uint8Array {
    if (this.at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n))
      next.set(this.buf.subarray(0, this.at))
      this.buf = next
    }
    return this.buf
  }

  /** A string known to be ASCII (number text, JSON punctuation, field names). */
  ascii(s: string): this {
    const n = s.length
    const b = this.room(n)
    let at = this.at
    for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i)
    this.at = at
    return this
  }

  /** Any value as JSON (JSON.stringify, then UTF-8). */
  json(value: unknown): this {
    const bytes = utf8.encode(JSON.stringify(value))
    this.room(bytes.length).set(bytes, this.at)
    this.at += bytes.length
    return this
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.at)
  }
}

/** One bucket: `{start, end, count, min, max, sum, mean, first, last, suspect}`. */
const bucket = (out: JsonBytes, r: AggregateText): void => {
  out
    .ascii('{"start":').ascii(r.start).ascii(',"end":').ascii(r.end).ascii(',"count":').ascii(r.n)
    .ascii(',"min":').ascii(r.lo).ascii(',"max":').ascii(r.hi).ascii(',"sum":').ascii(r.total).ascii(',"mean":').ascii(r.mean)
    .ascii(',"first":{"ts":').ascii(r.first_ts).ascii(',"value":').ascii(r.first_value)
    .ascii('},"last":{"ts":').ascii(r.last_ts).ascii(',"value":').ascii(r.last_value)
    .ascii('},"suspect":{"count":').ascii(r.suspect).ascii(',"spike":').ascii(r.spike).ascii(',"rate_of_change":').ascii(r.rate_of_change)
    .ascii(',"stuck":').ascii(r.stuck).ascii(',"out_of_range":').ascii(r.out_of_range).ascii("}}")
}

/** `[bucket, ...]` of the rows [from, to). */
const buckets = (out: JsonBytes, rows: ReadonlyArray<AggregateText>, from: number, to: number): void => {
  out.ascii("[")
  for (let i = from; i < to; i++) {
    if (i > from) out.ascii(",")
    bucket(out, rows[i] as AggregateText)
  }
  out.ascii("]")
}

const head = (out: JsonBytes, fields: Record<string, string | number>): void => {
  out.ascii("{")
  for (const [k, v] of Object.entries(fields)) out.json(k).ascii(":").json(v).ascii(",")
}

/** One sensor's page: `{...fields, buckets: [...], next}`. */
export const bucketPage = (fields: Record<string, string | number>, rows: ReadonlyArray<AggregateText>, next: string | null): Uint8Array => {
  const out = new JsonBytes(rows.length * 400 + 256)
  head(out, fields)
  out.ascii('"buckets":')
  buckets(out, rows, 0, rows.length)
  return out.ascii(',"next":').json(next).ascii("}").done()
}

/** Many sensors' page: `{...fields, series: [{sensor, buckets}, ...], next}`, rows ordered by sensor, ids mapped by `name`. */
export const seriesPage = (
  fields: Record<string, string | number>,
  rows: ReadonlyArray<AggregateText>,
  name: (internal: string) => string,
  next: string | null
): Uint8Array => {
  const out = new JsonBytes(rows.length * 400 + 256)
  head(out, fields)
  out.ascii('"series":[')
  let from = 0
  for (let i = 1; i <= rows.length; i++) {
    if (i === rows.length || (rows[i] as AggregateText).sensor !== (rows[from] as AggregateText).sensor) {
      if (from > 0) out.ascii(",")
      out.ascii('{"sensor":').json(name((rows[from] as AggregateText).sensor)).ascii(',"buckets":')
      buckets(out, rows, from, i)
      out.ascii("}")
      from = i
    }
  }
  return out.ascii('],"next":').json(next).ascii("}").done()
}
