/**
 * The sensor page's config form: the common scalar settings of the sensor's effective config
 * (GET /api/v1/sensors/{id}), saved with PUT /api/v1/sensors/{id}, which replaces every override:
 * the others (alert rules too) are sent back unchanged. The node judges the values: each issue
 * of a refusal is shown next to the field its path names (aria-invalid, aria-describedby), the
 * first such field focused; anything else (a rule, a 403 for a viewer) is a form-level error.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { type Access, call, isRecord, json, mayOperate, send } from "../api"
import { AlertRulesEditor } from "./alert-rules-editor"
import { CONFIG_FIELDS, type ConfigValues, configIssuesOf, configPatchOf, configValuesOf } from "../sensor-config"
import { Problem } from "./problem"

interface ConfigView {
  readonly config: Readonly<Record<string, unknown>>
  readonly overrides: Readonly<Record<string, unknown>>
}

const configViewOf = (u: unknown): ConfigView | null => (isRecord(u) && isRecord(u.config) && isRecord(u.overrides) ? { config: u.config, overrides: u.overrides } : null)

interface FormState {
  /** The stored overrides: the body of a save starts from them. */
  readonly overrides: Readonly<Record<string, unknown>>
  /** Each field's text as loaded (a field is sent only when changed) and as typed. */
  readonly loaded: ConfigValues
  readonly values: ConfigValues
}

const formOf = (view: ConfigView | null): FormState => {
  const text = configValuesOf(view?.config ?? null)
  return { overrides: view?.overrides ?? {}, loaded: text, values: text }
}

type Phase = { readonly phase: "loading" } | { readonly phase: "ready"; readonly exists: boolean } | { readonly phase: "failed"; readonly message: string }

export const SensorConfigForm = ({ access, path, onSaved }: { readonly access: Access; readonly path: string; readonly onSaved: () => void }) => {
  const [phase, setPhase] = useState<Phase>({ phase: "loading" })
  const operator = mayOperate(access.me)
  const [form, setForm] = useState<FormState>(() => formOf(null))
  const [fieldErrors, setFieldErrors] = useState<Readonly<Record<string, string>>>({})
  const [formErrors, setFormErrors] = useState<ReadonlyArray<string>>([])
  const [saving, setSaving] = useState(false)
  const [saved, setSaved] = useState(false)
  const element = useRef<HTMLFormElement>(null)

  useEffect(() => {
    const abort = new AbortController()
    void call(access, path, json(configViewOf), { signal: abort.signal }).then((answer) => {
      if (abort.signal.aborted) return
      if (answer.ok) {
        setForm(formOf(answer.value))
        setPhase({ phase: "ready", exists: true })
      } else if (answer.failure.status === 404) setPhase({ phase: "ready", exists: false })
      else if (answer.failure.status !== 401) setPhase({ phase: "failed", message: answer.failure.message })
    })
    return () => abort.abort()
  }, [access, path])

  const save = async (e: Event) => {
    e.preventDefault()
    setSaving(true)
    setSaved(false)
    const answer = await send(access, "PUT", path, configPatchOf(form.overrides, form.loaded, form.values), json(configViewOf))
    setSaving(false)
    if (answer.ok) {
      setForm(formOf(answer.value))
      setFieldErrors({})
      setFormErrors([])
      setSaved(true)
      setPhase({ phase: "ready", exists: true })
      onSaved()
      return
    }
    if (answer.failure.status === 401) return
    const { byField, other } = configIssuesOf(answer.failure.details)
    const named = Object.keys(byField).length
    setFieldErrors(byField)
    setFormErrors(named === 0 && other.length === 0 ? [answer.failure.message] : other)
    const first = CONFIG_FIELDS.find((f) => byField[f.name] !== undefined)
    if (first !== undefined) element.current?.querySelector<HTMLInputElement>(`#cfg-${first.name}`)?.focus()
  }

  const named = Object.keys(fieldErrors).length
  return (
    <>
    <section class="panel config-panel" aria-labelledby="config-title">
      <h2 id="config-title">Config</h2>
      {phase.phase === "loading" && <p class="meta">Loading…</p>}
      <Problem what="Could not load the config" message={phase.phase === "failed" ? phase.message : null} />
      {phase.phase === "ready" && (
        <form ref={element} class="config-form" noValidate onSubmit={(e) => void save(e)}>
          <p class="hint">
            {phase.exists ? "Alert rules and the settings not shown here are kept as they are." : "The sensor does not exist yet: saving creates it with these settings."} An empty field
            means no limit, or the default.
          </p>
          <div class="config-fields">
            {CONFIG_FIELDS.map((f) => {
              const id = `cfg-${f.name}`
              const error = fieldErrors[f.name]
              return (
                <div class="config-field" key={f.name}>
                  <label for={id}>{f.label}</label>
                  <input
                    id={id}
                    name={f.name}
                    type="text"
                    inputMode="decimal"
                    autoComplete="off"
                    spellcheck={false}
                    value={form.values[f.name] ?? ""}
                    readOnly={!operator}
                    onInput={(e) => {
                      const value = e.currentTarget.value
                      setForm((s) => ({ ...s, values: { ...s.values, [f.name]: value } }))
                      setSaved(false)
                    }}
                    aria-invalid={error !== undefined}
                    aria-describedby={error === undefined ? `${id}-hint` : `${id}-error ${id}-hint`}
                  />
                  {error !== undefined && (
                    <p id={`${id}-error`} class="error field-error" data-testid={`${id}-error`}>
                      {error}
                    </p>
                  )}
                  <p id={`${id}-hint`} class="hint field-hint">
                    {f.hint}
                  </p>
                </div>
              )
            })}
          </div>
          {(named > 0 || formErrors.length > 0) && (
            <div class="error" role="alert" data-testid="config-error">
              {named > 0 && <p>The node refused the config: {named === 1 ? "1 field needs" : `${named} fields need`} a change (see the message under it).</p>}
              {formErrors.map((m) => (
                <p key={m}>{m}</p>
              ))}
            </div>
          )}
          {operator ? (
            <div class="form-actions">
              <button type="submit" disabled={saving}>
                {saving ? "Saving…" : "Save"}
              </button>
              <p role="status" class="saved" data-testid="config-status">
                {saved ? "Saved" : ""}
              </p>
            </div>
          ) : (
            <p class="meta" data-testid="config-read-only">
              Signed in as {access.me.role ?? access.me.kind}: changing the config needs role operator.
            </p>
          )}
        </form>
      )}
    </section>
    {phase.phase === "ready" && (
      <AlertRulesEditor access={access} path={path} overrides={form.overrides} onSaved={(overrides) => setForm((f) => ({ ...f, overrides }))} />
    )}
    </>
  )
}
