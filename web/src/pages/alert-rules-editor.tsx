/**
 * A sensor's alert rules: the list (kind, severity, what it checks), and a form to add or edit one,
 * its fields following the kind. Saving sends PUT /api/v1/sensors/{id} with the stored overrides
 * and the new rule list; the node judges the rule, and each issue it names (`rules.<i>.<field>`)
 * is shown next to that field. Operators and admins edit; viewers read.
 */
import { useState } from "preact/hooks"
import { type Access, isRecord, json, mayOperate, send } from "../api"
import {
  emptyRuleForm,
  kindSpec,
  RULE_KINDS,
  type RuleForm,
  type RuleKind,
  ruleFormOf,
  ruleIssuesOf,
  ruleOf,
  ruleSummary,
  SEVERITIES,
  withRule
} from "../alert-rules"
import { TableHead } from "../table-head"

type Overrides = Readonly<Record<string, unknown>>

const overridesOf = (u: unknown): Overrides | null => (isRecord(u) && isRecord(u.overrides) ? u.overrides : null)

/** The form being edited: a new rule (index null) or the rule at `index`. */
interface Editing {
  readonly index: number | null
  readonly form: RuleForm
}

export const AlertRulesEditor = ({
  access,
  path,
  overrides,
  onSaved
}: {
  readonly access: Access
  readonly path: string
  readonly overrides: Overrides
  readonly onSaved: (overrides: Overrides) => void
}) => {
  const operator = mayOperate(access.me)
  const rules: ReadonlyArray<unknown> = Array.isArray(overrides.rules) ? overrides.rules : []
  const [editing, setEditing] = useState<Editing | null>(null)
  const [fieldErrors, setFieldErrors] = useState<Readonly<Record<string, string>>>({})
  const [formErrors, setFormErrors] = useState<ReadonlyArray<string>>([])
  const [busy, setBusy] = useState(false)
  const [done, setDone] = useState<string | null>(null)

  const open = (next: Editing | null) => {
    setEditing(next)
    setFieldErrors({})
    setFormErrors([])
    setDone(null)
  }

  /** PUT the overrides with `next` as the rules; the issues of the rule at `index` go to its fields. */
  const saveRules = async (next: ReadonlyArray<unknown>, index: number, message: string) => {
    setBusy(true)
    const answer = await send(access, "PUT", path, { ...overrides, rules: next }, json(overridesOf))
    setBusy(false)
    if (answer.ok) {
      onSaved(answer.value)
      open(null)
      setDone(message)
      return
    }
    if (answer.failure.status === 401) return
    const { byField, other } = ruleIssuesOf(answer.failure.details, index)
    setFieldErrors(byField)
    setFormErrors(Object.keys(byField).length === 0 && other.length === 0 ? [answer.failure.message] : other)
  }

  const submit = (e: Event) => {
    e.preventDefault()
    if (editing === null) return
    const rule = ruleOf(editing.form)
    const index = editing.index ?? rules.length
    void saveRules(withRule(rules, editing.index, rule), index, `Saved rule ${String(rule.id)}.`)
  }

  const remove = (index: number) => {
    const id = isRecord(rules[index]) ? String(rules[index].id) : String(index)
    void saveRules(
      rules.filter((_, i) => i !== index),
      -1,
      `Deleted rule ${id}.`
    )
  }

  const setForm = (change: Partial<RuleForm>) => setEditing((e) => (e === null ? e : { ...e, form: { ...e.form, ...change } }))

  const input = (name: string, label: string, value: string, onInput: (v: string) => void, hint?: string) => {
    const id = `rule-${name}`
    const error = fieldErrors[name]
    const described = [error === undefined ? null : `${id}-error`, hint === undefined ? null : `${id}-hint`].filter((x) => x !== null).join(" ")
    return (
      <div class="config-field" key={name}>
        <label for={id}>{label}</label>
        <input
          id={id}
          type="text"
          autoComplete="off"
          spellcheck={false}
          value={value}
          onInput={(e) => onInput(e.currentTarget.value)}
          aria-invalid={error !== undefined}
          aria-describedby={described === "" ? undefined : described}
        />
        {error !== undefined && (
          <p id={`${id}-error`} class="error field-error" data-testid={`${id}-error`}>
            {error}
          </p>
        )}
        {hint !== undefined && (
          <p id={`${id}-hint`} class="hint field-hint">
            {hint}
          </p>
        )}
      </div>
    )
  }

  return (
    <section class="panel config-panel" aria-labelledby="rules-title">
      <h2 id="rules-title">Alert rules</h2>
      {rules.length === 0 ? (
        <p class="meta">No alert rules: the sensor raises no alerts.</p>
      ) : (
        <div class="table-scroll">
          <table class="alerts-table" aria-label="Alert rules" data-testid="rules-table">
            <TableHead columns={operator ? ["Rule", "Kind", "Severity", "Checks", "Actions"] : ["Rule", "Kind", "Severity", "Checks"]} />
            <tbody>
              {rules.map((r, i) => {
                const id = isRecord(r) ? String(r.id) : String(i)
                return (
                  <tr key={id}>
                    <td>{id}</td>
                    <td>{isRecord(r) ? kindSpec(String(r.kind)).label : ""}</td>
                    <td>{isRecord(r) && typeof r.severity === "string" ? r.severity : "warning"}</td>
                    <td>{ruleSummary(r)}</td>
                    {operator && (
                      <td class="actions">
                        <button type="button" class="secondary" aria-label={`Edit rule ${id}`} disabled={busy} onClick={() => open({ index: i, form: ruleFormOf(r) })}>
                          Edit
                        </button>
                        <button type="button" class="secondary" aria-label={`Delete rule ${id}`} disabled={busy} onClick={() => remove(i)}>
                          Delete
                        </button>
                      </td>
                    )}
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      <p role="status" class="saved" data-testid="rules-status">
        {done ?? ""}
      </p>
      {operator && editing === null && (
        <button type="button" onClick={() => open({ index: null, form: emptyRuleForm() })}>
          Add a rule
        </button>
      )}
      {operator && editing !== null && (
        <form class="config-form rule-form" noValidate onSubmit={submit} aria-label={editing.index === null ? "New alert rule" : `Edit rule ${editing.form.id}`}>
          <div class="config-fields">
            <div class="config-field">
              <label for="rule-kind">Kind</label>
              <select id="rule-kind" value={editing.form.kind} onChange={(e) => setForm({ kind: e.currentTarget.value as RuleKind, values: {} })}>
                {RULE_KINDS.map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {k.label}
                  </option>
                ))}
              </select>
            </div>
            {input("id", "Rule id", editing.form.id, (id) => setForm({ id }), "Letters, digits, '.', '_' and '-'.")}
            <div class="config-field">
              <label for="rule-severity">Severity</label>
              <select id="rule-severity" value={editing.form.severity} onChange={(e) => setForm({ severity: e.currentTarget.value })}>
                {SEVERITIES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            {input("cooldownSeconds", "Cooldown (s)", editing.form.cooldownSeconds, (cooldownSeconds) => setForm({ cooldownSeconds }), "Empty: the node's default.")}
            {kindSpec(editing.form.kind).fields.map((field) =>
              input(field.name, field.label, editing.form.values[field.name] ?? "", (v) => setForm({ values: { ...editing.form.values, [field.name]: v } }), field.hint)
            )}
          </div>
          {formErrors.length > 0 && (
            <div class="error" role="alert" data-testid="rules-error">
              {formErrors.map((m) => (
                <p key={m}>{m}</p>
              ))}
            </div>
          )}
          {Object.keys(fieldErrors).length > 0 && (
            <p class="error" role="alert">
              The node refused the rule: see the message under each field.
            </p>
          )}
          <div class="form-actions">
            <button type="submit" disabled={busy}>
              {busy ? "Saving…" : "Save rule"}
            </button>
            <button type="button" class="secondary" onClick={() => open(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  )
}
