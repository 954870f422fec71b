/**
 * Hands committed alert events to their notifiers. The writer calls it after each flush that
 * carried alert events (they are in `alert_outbox` by then); it sends one message per notifier,
 * without waiting. A message that does not arrive (the node is stopping, the notifier's node just
 * died) costs nothing: the rows stay in the outbox and the sweeper hands them on again. The sweeper
 * also uses it to remind notifiers of notifications whose fan-out was cut short.
 */
import { Effect, Runtime, Schema } from "effect"
import { Writer } from "../storage/writer.js"
import { logWarning } from "../telemetry/log.js"
import { Notifier, type OutboxEntry, SensorAlertEvent } from "./notifier-protocol.js"

const decodeEvent = Schema.decodeUnknownOption(SensorAlertEvent)

export interface OutboxRow {
  readonly id: number
  readonly notifier: string
  readonly event: unknown
}

export class AlertRelay extends Effect.Service<AlertRelay>()("flowmesh/AlertRelay", {
  scoped: Effect.gen(function* () {
    const writer = yield* Writer
    const notifiers = yield* Notifier.client
    const runtime = yield* Effect.runtime<never>()

    const grouped = (rows: ReadonlyArray<OutboxRow>) => {
      const groups = new Map<string, Array<OutboxEntry>>()
      for (const row of rows) {
        const decoded = decodeEvent(row.event)
        if (decoded._tag === "None") continue
        const entries = groups.get(row.notifier)
        const entry = { seq: row.id, event: decoded.value }
        if (entries === undefined) groups.set(row.notifier, [entry])
        else entries.push(entry)
      }
      return groups
    }

    /** Sends each notifier its events; succeeds with how many notifiers did not take theirs. */
    const send = (rows: ReadonlyArray<OutboxRow>) =>
      Effect.forEach(
        grouped(rows),
        ([notifier, entries]) =>
          notifiers(notifier)
            .ApplyAlertEvents({ entries })
            .pipe(
              Effect.as(0),
              Effect.catchAllCause((cause) =>
                Effect.as(logWarning("notifier did not take alert events; the sweeper will resend them", { notifier, cause: String(cause) }), 1)
              )
            ),
        { concurrency: "unbounded" }
      ).pipe(Effect.map((misses) => misses.reduce((a, b) => a + b, 0)))

    /** Reminds each notifier of notifications it committed and has not delivered to every channel; it answers at once. */
    const resumeFanOut = (names: ReadonlyArray<string>) =>
      Effect.forEach(
        names,
        (notifier) =>
          notifiers(notifier)
            .DeliverPendingNotifications()
            .pipe(Effect.catchAllCause((cause) => logWarning("notifier not reached; the next sweep reminds it again", { notifier, cause: String(cause) }))),
        { concurrency: "unbounded", discard: true }
      )

    writer.onAlertsCommitted((alerts) => {
      Runtime.runFork(runtime)(send(alerts.map((a) => ({ id: a.id, notifier: a.notifier, event: a.event }))))
    })

    return { send, resumeFanOut } as const
  })
}) {}
