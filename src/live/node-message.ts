/** Messages between nodes are JSON objects stamped with their origin node `o` and a kind `k`. */

export type NodeMessage = Record<string, unknown> & { readonly o: string; readonly k: unknown }

/** The message as an object with its origin, or null for anything else (never throws). */
export const parseNodeMessage = (text: string): NodeMessage | null => {
  let u: unknown
  try {
    u = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof u !== "object" || u === null || Array.isArray(u) || !("o" in u) || typeof u.o !== "string" || !("k" in u)) return null
  return { ...u, o: u.o, k: u.k }
}
