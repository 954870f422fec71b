/** Structured logs through Effect's logger: JSON lines by default, pretty for a terminal. */
import { Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig } from "../config.js"

const levels = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
} as const

export const LoggingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ log }) =>
    Layer.merge(
      log.format === "json" ? Logger.json : Logger.pretty,
      Logger.minimumLogLevel(levels[log.level])
    )
  )
)
