/** A JSON object (not null, not an array): what every decoder of the node's answers checks first. */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)
