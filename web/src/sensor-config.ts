/**
 * The sensor page's config form, without the browser: which scalar fields it edits, their values
 * as text, the body of `PUT /api/v1/sensors/{id}` (which replaces every override: the ones the form
 * does not show, alert rules included, are sent back as they were), and the API's field issues
 * (`details.issues[].path`, e.g. `hardMin` or `rules.0.high`) put next to their inputs. The API
 * judges every value; the form only passes text that is not a number through as text, so that the
 * API's message names it. No imports: the unit tests load it under Node.
 */

export interface ConfigField {
  readonly name: string
  readonly label: string
  /** null clears a limit; the other fields go back to their default when emptied. */
  readonly nullable: boolean
  readonly hint: string
}

export const CONFIG_FIELDS: ReadonlyArray<ConfigField> = [
  { name: "hardMin", label: "Hard min", nullable: true, hint: "Below it a reading is rejected as invalid. Empty: no limit." },
  { name: "hardMax", label: "Hard max", nullable: true, hint: "Above it a reading is rejected as invalid. Empty: no limit." },
  { name: "softMin", label: "Soft min", nullable: true, hint: "Below it a reading is kept but suspect. Empty: no limit." },
  { name: "softMax", label: "Soft max", nullable: true, hint: "Above it a reading is kept but suspect. Empty: no limit." },
  { name: "maxRatePerSecond", label: "Max rate of change (units/s)", nullable: true, hint: "Faster changes are suspect. Empty: no limit." },
  { name: "allowedSkewMs", label: "Allowed skew (ms)", nullable: false, hint: "How much older than the last accepted reading a reading may be." },
  { name: "throttleRate", label: "Throttle rate (readings/s)", nullable: false, hint: "The sensor's token bucket: readings per second." },
  { name: "throttleBurst", label: "Throttle burst", nullable: false, hint: "The token bucket's size." },
  { name: "windowSize", label: "Window size (readings)", nullable: false, hint: "The sliding window's last N readings." },
  { name: "degradedRatio", label: "Degraded ratio", nullable: false, hint: "Suspect share of the window (0–1) above which the status is degraded." }
]

export type ConfigValues = Readonly<Record<string, string>>

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The form's text of each field from an effective config (`GET /api/v1/sensors/{id}`'s `config`): "" for null or unknown. */
export const configValuesOf = (config: unknown): ConfigValues => {
  const values: Record<string, string> = {}
  for (const f of CONFIG_FIELDS) {
    const v = isObject(config) ? config[f.name] : undefined
    values[f.name] = typeof v === "number" ? String(v) : ""
  }
  return values
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i

/** A field's text as the API gets it: a number when it reads as one, else the text itself (the node names what is wrong with it). */
export const typedValue = (text: string): unknown => (NUMBER.test(text) ? Number(text) : text)

/**
 * The PUT body: the stored overrides, with each field the user changed (its text differs from
 * what was loaded) set to its number, null (a limit emptied), or left out (any other field
 * emptied: its default). Text that is no number is sent as it is, for the API to name.
 */
export const configPatchOf = (overrides: Readonly<Record<string, unknown>>, loaded: ConfigValues, values: ConfigValues): Record<string, unknown> => {
  const patch: Record<string, unknown> = { ...overrides }
  for (const f of CONFIG_FIELDS) {
    const text = (values[f.name] ?? "").trim()
    if (text === (loaded[f.name] ?? "").trim()) continue
    if (text === "") {
      if (f.nullable) patch[f.name] = null
      else delete patch[f.name]
    } else patch[f.name] = typedValue(text)
  }
  return patch
}

/** The form field an issue's path names (`hardMin`, `throttleRate`), or null (a rule, the whole body). */
export const fieldOfPath = (path: string, fields: ReadonlyArray<string> = CONFIG_FIELDS.map((f) => f.name)): string | null => {
  const head = path.split(/[.[]/)[0] ?? ""
  return fields.includes(head) ? head : null
}

export interface ConfigIssues {
  /** The message(s) of each field named, joined. */
  readonly byField: Readonly<Record<string, string>>
  /** Issues of anything else (a rule, the body), as "path: message". */
  readonly other: ReadonlyArray<string>
}

/** A 400/422 error body's `details` (`{ issues: [{ path, message }] }`) sorted by field; no issues: empty. */
export const configIssuesOf = (details: unknown): ConfigIssues => {
  const byField: Record<string, string> = {}
  const other: Array<string> = []
  const issues = isObject(details) && Array.isArray(details.issues) ? details.issues : []
  for (const issue of issues) {
    if (!isObject(issue) || typeof issue.message !== "string") continue
    const path = typeof issue.path === "string" ? issue.path : ""
    const field = fieldOfPath(path)
    if (field === null) other.push(path === "" ? issue.message : `${path}: ${issue.message}`)
    else byField[field] = byField[field] === undefined ? issue.message : `${byField[field]}; ${issue.message}`
  }
  return { byField, other }
}
