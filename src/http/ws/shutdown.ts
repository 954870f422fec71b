/**
 * Graceful close of an endpoint's sockets: wait (bounded) until the answers already owed are sent,
 * then close each with 1001 "going away", and cut whatever has not closed a second later.
 */
import type { WebSocket } from "ws"

const CLOSE_GRACE_MS = 1_000

const delay = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref()
  })

export const closeAll = async (owed: ReadonlyArray<Promise<void>>, sockets: ReadonlyArray<WebSocket>, timeoutMs: number): Promise<void> => {
  await Promise.race([Promise.all(owed), delay(timeoutMs)])
  const closed = sockets.map(
    (ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve()
        ws.once("close", () => resolve())
        ws.close(1001, "server shutting down")
      })
  )
  await Promise.race([Promise.all(closed), delay(CLOSE_GRACE_MS)])
  for (const ws of sockets) if (ws.readyState !== ws.CLOSED) ws.terminate()
}
