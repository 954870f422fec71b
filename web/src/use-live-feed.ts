/**
 * One sensor's feed from `WS /ws/live` (with its alerts), or with no sensor every alert of the
 * caller's tenant (`alerts: true`, the alerts inbox). A browser's WebSocket cannot send headers, so the
 * credential goes as a subprotocol the node reads on upgrades (`flowmesh.bearer.<base64url>`
 * beside `flowmesh.v1`, which the node answers): never in a URL, so never in a proxy's log. A dropped connection is reconnected with a doubling backoff (and the caller
 * told, to re-check the credential over HTTP, where a 401 ends the session); a hidden tab
 * unsubscribes and subscribes again when it is visible.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { type LiveReadings, type LiveState, liveFrameOf, reconnectDelayMs } from "./live-window"

export type LinkState =
  | { readonly phase: "connecting" }
  | { readonly phase: "live"; readonly reconnected: boolean }
  | { readonly phase: "paused" }
  | { readonly phase: "reconnecting"; readonly inMs: number; readonly attempt: number }

export interface LiveNotice {
  readonly kind: "lagged" | "degraded" | "error"
  readonly message: string
  readonly at: number
}

export interface LiveHandlers {
  readonly onReadings?: (readings: LiveReadings) => void
  readonly onSubscribed?: (state: LiveState | null) => void
  readonly onState?: (status: string, at: number, reason: string) => void
  /** An alert notification (`alert` frame): of the sensor, or of any sensor when subscribed to every alert. */
  readonly onAlert?: (notification: Readonly<Record<string, unknown>>) => void
  /** Subscribed (again, after a reconnect or a hidden tab): whatever happened meanwhile was not on the feed. */
  readonly onLive?: () => void
  /** The connection dropped (or was refused): a reason to ask the API whether the credential still holds. */
  readonly onLost: () => void
}

/** The link's state in words (the pages' status line). */
export const linkText = (link: LinkState): string => {
  switch (link.phase) {
    case "connecting":
      return "Connecting to the live feed…"
    case "live":
      return link.reconnected ? "Live (reconnected)" : "Live"
    case "paused":
      return "Paused while this tab is hidden"
    case "reconnecting":
      return `Connection lost; reconnecting in ${Math.max(1, Math.round(link.inMs / 1000))} s (attempt ${link.attempt})…`
  }
}

const liveUrl = (): string => {
  const url = new URL("/ws/live", location.href)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  return url.toString()
}

/** Keys and tokens are printable ASCII, which btoa takes as is. */
const base64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const liveProtocols = (credential: string | null): Array<string> =>
  credential === null ? ["flowmesh.v1"] : ["flowmesh.v1", `flowmesh.bearer.${base64url(credential)}`]

/** `sensor` null: every alert, no readings. */
export const useLiveFeed = (sensor: string | null, credential: string | null, handlers: LiveHandlers) => {
  const [link, setLink] = useState<LinkState>({ phase: "connecting" })
  const [notice, setNotice] = useState<LiveNotice | null>(null)
  const latest = useRef(handlers)
  latest.current = handlers

  useEffect(() => {
    let ws: WebSocket | null = null
    let retry: ReturnType<typeof setTimeout> | undefined
    let attempt = 0
    let dropped = false
    let stopped = false
    const hidden = () => document.visibilityState === "hidden"
    const send = (type: "subscribe" | "unsubscribe") => {
      if (ws !== null && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(sensor === null ? { type, alerts: true } : { type, sensors: [sensor] }))
    }

    const connect = () => {
      retry = undefined
      setLink({ phase: "connecting" })
      const socket = new WebSocket(liveUrl(), liveProtocols(credential))
      ws = socket
      socket.onopen = () => {
        if (hidden()) setLink({ phase: "paused" })
        else send("subscribe")
      }
      socket.onmessage = (e: MessageEvent) => {
        if (ws !== socket || typeof e.data !== "string") return
        const frame = liveFrameOf(e.data)
        if (frame === null) return
        switch (frame.type) {
          case "subscribed": {
            attempt = 0
            setLink({ phase: "live", reconnected: dropped })
            const mine = frame.states.find((s) => s.sensor === sensor)
            if (mine !== undefined) latest.current.onSubscribed?.(mine.state)
            latest.current.onLive?.()
            return
          }
          case "readings":
            for (const r of frame.sensors) if (r.sensor === sensor) latest.current.onReadings?.(r)
            return
          case "state":
            if (frame.sensor === sensor) latest.current.onState?.(frame.to, frame.at, frame.reason)
            return
          case "alert":
            latest.current.onAlert?.(frame.notification)
            return
          case "lagged":
            setNotice({ kind: "lagged", message: `The feed fell behind: the node dropped ${frame.dropped.toLocaleString("en-US")} live item(s) for this page. The chart has gaps; the history is complete.`, at: Date.now() })
            return
          case "degraded":
            setNotice({ kind: "degraded", message: `Live feed degraded: ${frame.message}.`, at: Date.now() })
            return
          case "recovered":
            setNotice((n) => (n?.kind === "degraded" ? null : n))
            return
          case "error":
            setNotice({ kind: "error", message: `The live feed refused a request: ${frame.message}`, at: Date.now() })
            return
          default:
            return
        }
      }
      socket.onclose = () => {
        if (ws !== socket || stopped) return
        ws = null
        dropped = true
        latest.current.onLost()
        if (hidden()) {
          setLink({ phase: "paused" })
          return
        }
        const inMs = reconnectDelayMs(attempt, Math.random())
        attempt++
        setLink({ phase: "reconnecting", inMs, attempt })
        retry = setTimeout(connect, inMs)
      }
    }

    const onVisibility = () => {
      if (hidden()) {
        send("unsubscribe")
        setLink({ phase: "paused" })
      } else if (ws === null) {
        clearTimeout(retry)
        connect()
      } else if (ws.readyState === WebSocket.OPEN) {
        setLink({ phase: "connecting" })
        send("subscribe")
      }
    }

    connect()
    document.addEventListener("visibilitychange", onVisibility)
    return () => {
      stopped = true
      clearTimeout(retry)
      document.removeEventListener("visibilitychange", onVisibility)
      const socket = ws
      ws = null
      // Closing a socket still connecting makes Chrome log an error: let it open, then close it.
      if (socket?.readyState === WebSocket.CONNECTING) socket.onopen = () => socket.close(1000)
      else socket?.close(1000)
    }
  }, [sensor, credential])

  return { link, notice, dismiss: () => setNotice(null) }
}
