/**
 * The dashboard's shell: finds out whether the node wants a credential (AUTH_MODE), keeps the
 * session, and shows the page of the current route with the navigation around it. Any 401 from
 * the node ends the session and shows sign-in again with the node's reason.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks"
import { type Access, type ApiFailure, describeMe, type Me, probeAccess } from "./api"
import { AlertsPage } from "./pages/alerts-page"
import { NodePage } from "./pages/node-page"
import { SensorPage } from "./pages/sensor-page"
import { SensorsPage } from "./pages/sensors-page"
import { SignInPage } from "./pages/sign-in-page"
import { hrefOf, navigate, ROUTES, routeOf, sensorOf, useHash } from "./router"
import { forgetCredential, storeCredential, storedCredential } from "./session"

type Session =
  | { readonly phase: "checking" }
  | { readonly phase: "unreachable"; readonly message: string }
  | { readonly phase: "signed-out"; readonly notice: string | null }
  | { readonly phase: "in"; readonly credential: string | null; readonly me: Me }

/** Before the node has said who the caller is: nothing is offered. */
const ANONYMOUS: Me = { kind: "anonymous", id: "", tenant: "", role: null, superuser: false, authMode: "" }

const ended = (failure: ApiFailure) => `The node refused your credential: ${failure.message}. Sign in again.`

export const App = () => {
  const [session, setSession] = useState<Session>({ phase: "checking" })
  const hash = useHash()
  const route = routeOf(hash)
  const sensor = sensorOf(hash)
  const main = useRef<HTMLElement>(null)

  const start = useCallback(async () => {
    setSession({ phase: "checking" })
    const open = await probeAccess(null)
    if (open._tag === "Granted") return setSession({ phase: "in", credential: null, me: open.me })
    if (open._tag === "Unreachable") return setSession({ phase: "unreachable", message: open.failure.message })
    const stored = storedCredential()
    if (stored === null) return setSession({ phase: "signed-out", notice: null })
    const probe = await probeAccess(stored)
    if (probe._tag === "Granted") return setSession({ phase: "in", credential: stored, me: probe.me })
    if (probe._tag === "Unreachable") return setSession({ phase: "unreachable", message: probe.failure.message })
    forgetCredential()
    setSession({ phase: "signed-out", notice: ended(probe.failure) })
  }, [])

  useEffect(() => {
    void start()
  }, [start])

  const signedIn = useCallback((credential: string, me: Me) => {
    storeCredential(credential)
    setSession({ phase: "in", credential, me })
    navigate("node")
  }, [])

  const signOut = useCallback((notice: string | null) => {
    forgetCredential()
    setSession({ phase: "signed-out", notice })
    navigate("sign-in")
  }, [])

  const credential = session.phase === "in" ? session.credential : null
  const me = session.phase === "in" ? session.me : ANONYMOUS
  const access = useMemo<Access>(() => ({ credential, me, refused: (failure) => signOut(ended(failure)) }), [credential, me, signOut])

  // Signed in on the sign-in page (or no page named): the node page.
  useEffect(() => {
    if (session.phase === "in" && (route === null || route === "sign-in")) navigate("node")
  }, [session.phase, route])

  return (
    <>
      <button type="button" class="skip-link" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header class="top-bar">
        <span class="brand">flowmesh</span>
        {session.phase === "in" && (
          <nav aria-label="Main">
            <ul>
              {ROUTES.map((r) => (
                <li key={r.route}>
                  <a href={hrefOf(r.route)} aria-current={route === r.route || (route === "sensor" && r.route === "sensors") ? "page" : undefined}>
                    {r.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div class="who">
          {session.phase === "in" &&
            (session.credential === null ? (
              <span class="badge">Open node (AUTH_MODE=none)</span>
            ) : (
              <>
                <span class="badge" data-testid="who">
                  {describeMe(session.me)}
                </span>
                <button type="button" onClick={() => signOut(null)}>
                  Sign out
                </button>
              </>
            ))}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {session.phase === "checking" && <p role="status">Connecting to the node…</p>}
        {session.phase === "unreachable" && (
          <section class="panel" aria-labelledby="unreachable-title">
            <h1 id="unreachable-title">The node does not answer</h1>
            <p role="alert">{session.message}</p>
            <button type="button" onClick={() => void start()}>
              Try again
            </button>
          </section>
        )}
        {session.phase === "signed-out" && <SignInPage notice={session.notice} onSignedIn={signedIn} />}
        {session.phase === "in" && route === "sensors" && <SensorsPage access={access} />}
        {session.phase === "in" && route === "sensor" && sensor !== null && <SensorPage key={sensor} access={access} sensor={sensor} />}
        {session.phase === "in" && route === "alerts" && <AlertsPage access={access} />}
        {session.phase === "in" && route !== "sensors" && route !== "sensor" && route !== "alerts" && <NodePage access={access} />}
      </main>
    </>
  )
}
