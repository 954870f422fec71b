/**
 * Hash routing (`#/node`, `#/sensors`, `#/sensors/<id>`, `#/alerts`): the node serves only `/` and its assets,
 * so every page of the dashboard is one URL to it, and a reload or a shared link always lands on
 * index.html. A sensor id keeps its slashes (`#/sensors/site-7/pump-1`).
 */
import { useEffect, useState } from "preact/hooks"

export type Route = "sign-in" | "node" | "sensors" | "sensor" | "alerts"

export const ROUTES: ReadonlyArray<{ readonly route: Exclude<Route, "sign-in" | "sensor">; readonly label: string }> = [
  { route: "node", label: "Node" },
  { route: "sensors", label: "Sensors" },
  { route: "alerts", label: "Alerts" }
]

export const hrefOf = (route: Exclude<Route, "sensor">): string => `#/${route}`

/** The sensor page of `id`: each segment escaped, the slashes between them kept. */
export const sensorHref = (id: string): string => `#/sensors/${id.split("/").map(encodeURIComponent).join("/")}`

const pathOf = (hash: string): string => hash.replace(/^#\/?/, "").split("?")[0] ?? ""

/** The sensor id of a sensor page's hash, null for any other page. */
export const sensorOf = (hash: string): string | null => {
  const path = pathOf(hash)
  if (!path.startsWith("sensors/")) return null
  const raw = path.slice("sensors/".length)
  if (raw === "") return null
  try {
    return decodeURIComponent(raw)
  } catch {
    return null
  }
}

export const routeOf = (hash: string): Route | null => {
  const path = pathOf(hash)
  const name = path.split("/")[0]
  if (name === "sensors" && sensorOf(hash) !== null) return "sensor"
  return name === "sign-in" || name === "node" || name === "sensors" || name === "alerts" ? name : null
}

export const navigate = (route: Exclude<Route, "sensor">): void => {
  if (location.hash !== hrefOf(route)) location.hash = hrefOf(route)
}

/** The current hash, kept up to date (a new sensor id on the same page is a new hash). */
export const useHash = (): string => {
  const [hash, setHash] = useState(() => location.hash)
  useEffect(() => {
    const onChange = () => setHash(location.hash)
    addEventListener("hashchange", onChange)
    return () => removeEventListener("hashchange", onChange)
  }, [])
  return hash
}

/** The current route; an unknown or empty hash is null (the app picks the default page). */
export const useRoute = (): Route | null => routeOf(useHash())
