/**
 * Hands committed alert events to their notifiers. The writer calls it after each flush that
 * carried alert events (they are in `alert_outbox` by then); it sends one message per notifier,
 * without waiting. A message that does not arrive (the node is stopping, the notifier's node just
 * died) costs nothing: the rows stay in the outbox and the sweeper hands them on again. The sweeper
 * also uses it to remind notifiers of notifications whose fan-out was cut short.
 */
import { Effect, Either, ParseResult, Runtime, Schema } from "effect"
import { SensorAlertEvent } from "../domain/alert-event.js"
import { AlertRepo } from "../storage/alert-repo.js"
import { Writer } from "../storage/writer.js"
import { logWarning } from "../telemetry/log.js"
import { alertOutboxUndecodable } from "../telemetry/metrics.js"
import { Notifier, type OutboxEntry } from "./notifier-protocol.js"

const decodeEvent = Schema.decodeUnknownEither(SensorAlertEvent)

/** An outbox row as committed by this node's writer. */
export interface OutboxRow {
  readonly id: number
  readonly notifier: string
  readonly event: SensorAlertEvent
}

/** An outbox row as read back from PostgreSQL: its event is whatever JSON the row holds. */
export interface StoredOutboxRow {
  readonly id: number
  readonly notifier: string
  readonly event: unknown
}

export class AlertRelay extends Effect.Service<AlertRelay>()("flowmesh/AlertRelay", {
  scoped: Effect.gen(function* () {
    const writer = yield* Writer
    const repo = yield* AlertRepo
    const notifiers = yield* Notifier.client
    const runtime = yield* Effect.runtime<never>()

    const grouped = (rows: ReadonlyArray<OutboxRow>) => {
      const groups = new Map<string, Array<OutboxEntry>>()
      for (const row of rows) {
        const entries = groups.get(row.notifier)
        const entry = { seq: row.id, event: row.event }
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

    /**
     * Rows read back from the outbox (the sweeper's redelivery): each event is decoded first. One
     * that does not decode can never be applied; it is logged with its content, counted and
     * removed, instead of being skipped on every sweep.
     */
    const sendStored = (rows: ReadonlyArray<StoredOutboxRow>) =>
      Effect.suspend(() => {
        const good: Array<OutboxRow> = []
        const bad: Array<{ readonly id: number; readonly notifier: string; readonly event: unknown; readonly error: string }> = []
        for (const row of rows) {
          const decoded = decodeEvent(row.event)
          if (Either.isRight(decoded)) good.push({ id: row.id, notifier: row.notifier, event: decoded.right })
          else bad.push({ ...row, error: ParseResult.TreeFormatter.formatErrorSync(decoded.left) })
        }
        if (bad.length === 0) return send(good)
        alertOutboxUndecodable.inc(bad.length)
        return logWarning("alert outbox rows whose event does not decode were removed; nothing can apply them", { rows: bad }).pipe(
          Effect.zipRight(repo.discardOutbox(bad.map((b) => b.id))),
          Effect.catchAll((e) => logWarning("undecodable outbox rows could not be removed; the next sweep tries again", { error: e.message })),
          Effect.zipRight(send(good))
        )
      })

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
      Runtime.runFork(runtime)(send(alerts))
    })

    return { send, sendStored, resumeFanOut } as const
  })
}) {}
