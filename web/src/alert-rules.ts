/**
 * The sensor page's alert rules editor, without the browser: the rule kinds and their fields (as
 * the sensors API takes them, src/domain/alert-rules.ts), a rule as a form and back, a one-line
 * summary, and a refusal's issues sorted onto the edited rule's fields. The node judges every
 * value: text that is not a number is sent as typed, so that its message names the field.
 */
import { typedValue } from "./sensor-config.js"

export type RuleKind = "threshold" | "rate_of_change" | "flatline" | "suspect_share" | "status" | "offline" | "predicted_breach"

export interface RuleField {
  readonly name: string
  readonly label: string
  readonly hint: string
}

export interface KindSpec {
  readonly kind: RuleKind
  readonly label: string
  readonly fields: ReadonlyArray<RuleField>
}

const f = (name: string, label: string, hint: string): RuleField => ({ name, label, hint })

export const RULE_KINDS: ReadonlyArray<KindSpec> = [
  {
    kind: "threshold",
    label: "Threshold",
    fields: [
      f("high", "High", "Raise above this value. Empty: no upper limit."),
      f("low", "Low", "Raise below this value. Empty: no lower limit."),
      f("deadband", "Deadband", "Clear only this far back inside the limit."),
      f("forSeconds", "For (s)", "Raise only after this long past the limit.")
    ]
  },
  {
    kind: "rate_of_change",
    label: "Rate of change",
    fields: [f("maxPerSecond", "Max per second", "Raise when the value changes faster (units/s)."), f("deadband", "Deadband", "Clear only this much below the maximum.")]
  },
  {
    kind: "flatline",
    label: "Flatline",
    fields: [f("readings", "Readings", "Raise after this many identical readings."), f("seconds", "Seconds", "…or after the value stayed the same this long.")]
  },
  {
    kind: "suspect_share",
    label: "Suspect share",
    fields: [f("maxShare", "Max share (0–1)", "Raise when more of the window is suspect."), f("minSamples", "Min samples", "Judge only with this many readings in the window.")]
  },
  { kind: "status", label: "Status", fields: [f("statuses", "Statuses", "Comma-separated: degraded, fault.")] },
  { kind: "offline", label: "Offline", fields: [f("afterSeconds", "After (s)", "Raise after this long without a reading.")] },
  {
    kind: "predicted_breach",
    label: "Predicted breach",
    fields: [
      f("high", "High", "Raise when the trend will cross it. Empty: no upper limit."),
      f("low", "Low", "…or cross this. Empty: no lower limit."),
      f("horizonSeconds", "Horizon (s)", "How far ahead the trend is followed."),
      f("minSamples", "Min samples", "Readings the trend needs.")
    ]
  }
]

export const SEVERITIES = ["info", "warning", "critical"] as const

export const kindSpec = (kind: string): KindSpec => RULE_KINDS.find((k) => k.kind === kind) ?? RULE_KINDS[0]!

/** A rule as the editor holds it: every field as text. */
export interface RuleForm {
  readonly kind: RuleKind
  readonly id: string
  readonly severity: string
  readonly cooldownSeconds: string
  readonly values: Readonly<Record<string, string>>
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

const textOf = (u: unknown): string => (u === null || u === undefined ? "" : Array.isArray(u) ? u.join(", ") : String(u))

export const emptyRuleForm = (kind: RuleKind = "threshold"): RuleForm => ({ kind, id: "", severity: "warning", cooldownSeconds: "", values: {} })

/** A stored rule (as the user wrote it) as a form. */
export const ruleFormOf = (rule: unknown): RuleForm => {
  if (!isObject(rule)) return emptyRuleForm()
  const spec = kindSpec(String(rule.kind))
  const values: Record<string, string> = {}
  for (const field of spec.fields) values[field.name] = textOf(rule[field.name])
  return {
    kind: spec.kind,
    id: textOf(rule.id),
    severity: typeof rule.severity === "string" ? rule.severity : "warning",
    cooldownSeconds: textOf(rule.cooldownSeconds),
    values
  }
}

/** The rule a form says: empty fields left out (the node's defaults apply), numbers as numbers. */
export const ruleOf = (form: RuleForm): Record<string, unknown> => {
  const rule: Record<string, unknown> = { id: form.id.trim(), kind: form.kind, severity: form.severity }
  const cooldown = form.cooldownSeconds.trim()
  if (cooldown !== "") rule.cooldownSeconds = typedValue(cooldown)
  for (const field of kindSpec(form.kind).fields) {
    const text = (form.values[field.name] ?? "").trim()
    if (text === "") continue
    rule[field.name] =
      field.name === "statuses"
        ? text
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : typedValue(text)
  }
  return rule
}

/** "high 90 · deadband 5": the fields a rule sets, in the kind's order. */
export const ruleSummary = (rule: unknown): string => {
  if (!isObject(rule)) return ""
  const parts: Array<string> = []
  for (const field of kindSpec(String(rule.kind)).fields) {
    const v = rule[field.name]
    if (v !== undefined && v !== null) parts.push(`${field.label.replace(/ \(.*\)$/, "").toLowerCase()} ${textOf(v)}`)
  }
  return parts.join(" · ")
}

/** `rules` with `rule` in place of the one at `index` (null: added at the end). */
export const withRule = (rules: ReadonlyArray<unknown>, index: number | null, rule: unknown): Array<unknown> =>
  index === null ? [...rules, rule] : rules.map((r, i) => (i === index ? rule : r))

export interface RuleIssues {
  /** Messages by the edited rule's field (`id`, `severity`, `cooldownSeconds` or a kind's field). */
  readonly byField: Readonly<Record<string, string>>
  /** The rest, as "path: message". */
  readonly other: ReadonlyArray<string>
}

/** A refusal's `details.issues` sorted onto the fields of the rule at `index` (`rules.<index>.<field>`). */
export const ruleIssuesOf = (details: unknown, index: number): RuleIssues => {
  const byField: Record<string, string> = {}
  const other: Array<string> = []
  const issues = isObject(details) && Array.isArray(details.issues) ? details.issues : []
  const prefix = `rules.${index}`
  for (const issue of issues) {
    if (!isObject(issue) || typeof issue.message !== "string") continue
    const path = typeof issue.path === "string" ? issue.path : ""
    const field = path === prefix ? "id" : path.startsWith(`${prefix}.`) ? (path.slice(prefix.length + 1).split(/[.[]/)[0] ?? "") : null
    if (field === null || field === "") other.push(path === "" ? issue.message : `${path}: ${issue.message}`)
    else byField[field] = byField[field] === undefined ? issue.message : `${byField[field]}; ${issue.message}`
  }
  return { byField, other }
}
