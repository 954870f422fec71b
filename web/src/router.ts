/**
 * Hash routing (`#/node`, `#/sensors`): the node serves only `/` and its assets, so every page of
 * the dashboard is one URL to it, and a reload or a shared link always lands on index.html.
 */
import { useEffect, useState } from "preact/hooks"

export type Route = "sign-in" | "node" | "sensors"

export const ROUTES: ReadonlyArray<{ readonly route: Exclude<Route, "sign-in">; readonly label: string }> = [
  { route: "node", label: "Node" },
  { route: "sensors", label: "Sensors" }
]

export const hrefOf = (route: Route): string => `#/${route}`

export const routeOf = (hash: string): Route | null => {
  const name = hash.replace(/^#\/?/, "").split(/[/?]/)[0]
  return name === "sign-in" || name === "node" || name === "sensors" ? name : null
}

export const navigate = (route: Route): void => {
  if (location.hash !== hrefOf(route)) location.hash = hrefOf(route)
}

/** The current route; an unknown or empty hash is null (the app picks the default page). */
export const useRoute = (): Route | null => {
  const [route, setRoute] = useState(() => routeOf(location.hash))
  useEffect(() => {
    const onChange = () => setRoute(routeOf(location.hash))
    addEventListener("hashchange", onChange)
    return () => removeEventListener("hashchange", onChange)
  }, [])
  return route
}
