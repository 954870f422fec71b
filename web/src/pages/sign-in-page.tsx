/** Sign in with an API key or a JWT, checked against the node before it is kept for this tab. */
import { useEffect, useRef, useState } from "preact/hooks"
import { type ApiFailure, type Me, probeAccess } from "../api"
import { PageHeading } from "../page-heading"

const refusal = (failure: ApiFailure) =>
  failure.status === 403
    ? `This credential may not read sensors (${failure.message}). Use a viewer, operator or admin key or token.`
    : `The node refused this credential: ${failure.message}`

export const SignInPage = ({ notice, onSignedIn }: { readonly notice: string | null; readonly onSignedIn: (credential: string, me: Me) => void }) => {
  const [value, setValue] = useState("")
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  // The page is this one field: start there.
  useEffect(() => input.current?.focus(), [])

  const submit = async (e: Event) => {
    e.preventDefault()
    const credential = value.trim()
    if (credential === "") return setError("Paste an API key or a token first.")
    setBusy(true)
    const probe = await probeAccess(credential)
    setBusy(false)
    if (probe._tag === "Granted") return onSignedIn(credential, probe.me)
    setError(probe._tag === "Refused" ? refusal(probe.failure) : `The node could not be reached: ${probe.failure.message}`)
  }

  return (
    <section class="panel sign-in" aria-labelledby="sign-in-title">
      <PageHeading id="sign-in-title" title="Sign in" focus={false} />
      {notice !== null && (
        <p class="notice" role="alert">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label for="credential">API key or JWT</label>
        <input
          id="credential"
          name="credential"
          type="password"
          autoComplete="off"
          spellcheck={false}
          ref={input}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-invalid={error !== null}
          aria-describedby={error === null ? "credential-hint" : "credential-hint credential-error"}
        />
        <p id="credential-hint" class="hint">
          A service key (<code>fms_…</code>) or a token. It is kept in this tab's session storage only, never in a URL.
        </p>
        {error !== null && (
          <p id="credential-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </section>
  )
}
