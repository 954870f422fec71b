/**
 * A full garbage collection in a node under test, through its inspector (`--inspect` on a loopback
 * port the bench picked): memory samples taken right after it count live data, not garbage that a
 * later collection would have freed. Bench-only: the node exposes nothing for it.
 */
import { WebSocket } from "ws"

export const collectGarbage = async (inspectPort: number): Promise<void> => {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl?: string }>
  const url = targets[0]?.webSocketDebuggerUrl
  if (url === undefined) throw new Error(`no inspector target on port ${inspectPort}`)
  const socket = new WebSocket(url)
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve())
      socket.once("error", reject)
    })
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (data) => {
        const answer = JSON.parse(String(data)) as { id?: number; error?: { message: string } }
        if (answer.id !== 1) return
        if (answer.error !== undefined) reject(new Error(answer.error.message))
        else resolve()
      })
      socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }))
    })
  } finally {
    socket.close()
  }
}
