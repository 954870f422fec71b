/**
 * Log lines with their fields as annotations, so the JSON logger emits `"message": "...",
 * "annotations": { sensor, ... }` instead of an array of message parts.
 */
import { Effect } from "effect"

type Fields = Record<string, unknown>

export const logDebug = (message: string, fields: Fields) => Effect.annotateLogs(Effect.logDebug(message), fields)
export const logInfo = (message: string, fields: Fields) => Effect.annotateLogs(Effect.logInfo(message), fields)
export const logWarning = (message: string, fields: Fields) => Effect.annotateLogs(Effect.logWarning(message), fields)
export const logError = (message: string, fields: Fields) => Effect.annotateLogs(Effect.logError(message), fields)
