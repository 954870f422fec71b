/**
 * Ping every connection each interval; one that has not answered the previous ping is dead and is
 * cut (its socket terminated), unless the node itself stopped reading it (then its pong is unread).
 */
import type { WebSocket } from "ws"

export interface Pinged {
  readonly ws: WebSocket
  alive: boolean
}

export const startHeartbeat = <C extends Pinged>(
  connections: ReadonlySet<C>,
  intervalMs: number,
  exempt: (c: C) => boolean,
  onDead: () => void
): (() => void) => {
  const timer = setInterval(() => {
    for (const c of connections) {
      if (exempt(c)) continue
      if (!c.alive) {
        onDead()
        c.ws.terminate()
        continue
      }
      c.alive = false
      c.ws.ping()
    }
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
