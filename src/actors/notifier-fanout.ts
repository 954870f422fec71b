/**
 * A notifier's fan-out, driven from rows. In the transaction that commits a transition, `record`
 * writes one `alert_fanout` row per channel its notification must reach: dashboards always, the
 * Redis stream (with Redis) and the webhooks when the storm limit let it through. After the commit
 * (and when the notifier starts, and when the sweeper finds rows left behind) `resume` wakes one
 * drainer per channel, which delivers the notifier's rows in id order and deletes them only once
 * the channel took them; a failure (database, Redis) is retried with backoff, in the same order.
 *
 * So a fan-out cut short (the node lost the notifier's shard or died between the commit and the
 * channels) leaves its rows, and whichever node runs the notifier next delivers them before
 * anything newer: every committed notification reaches every channel at least once, in order per
 * channel. A repeat is possible (cut after delivering, before deleting); receivers dedupe by `id`.
 */
import { Duration, Effect, Queue, Schedule, Schema } from "effect"
import { AlertStream } from "../alerts/alert-stream.js"
import { Notification } from "../domain/notification.js"
import { WebhookDispatcher } from "../alerts/webhooks/dispatcher.js"
import { AppConfig } from "../config.js"
import { LiveFeed } from "../live/live-feed.js"
import { AlertStore, type FanOutChannel } from "../storage/alert-store.js"
import type { DatabaseUnavailable } from "../storage/errors.js"
import { logWarning } from "../telemetry/log.js"
import { alertNotifications } from "../telemetry/metrics.js"

/** Rows one drain step reads and delivers at once. */
const DRAIN_BATCH = 200
/** First retry delay after a failed drain step (doubling, capped at ALERT_SWEEP_MS). */
const RETRY_FROM = Duration.millis(100)

const decodeNotification = Schema.decodeUnknownEither(Notification)

interface Owed {
  readonly id: number
  readonly note: Notification
}

export interface NotifierFanOut {
  /** Inside the committing transaction: what each channel is owed for these notifications (`paging`: admitted by the storm limit). */
  readonly record: (notes: ReadonlyArray<Notification>, paging: ReadonlySet<Notification>) => Effect.Effect<void, DatabaseUnavailable>
  /** After the commit: wakes the drainers of the channels `record` wrote rows for. Never waits. */
  readonly committed: () => void
  /** Wakes every channel's drainer (rows may be left from an earlier run of the notifier). Never waits. */
  readonly resume: () => void
}

/** The fan-out of one notifier (internal id); its drainers live in the caller's scope (the entity's). */
export const makeNotifierFanOut = Effect.fn("NotifierFanOut.make")(function* (notifier: string) {
  const store = yield* AlertStore
  const dispatcher = yield* WebhookDispatcher
  const stream = yield* AlertStream
  const live = yield* LiveFeed
  const { alerts, webhooks: hooks } = yield* AppConfig
  const retry = Schedule.exponential(RETRY_FROM).pipe(Schedule.either(Schedule.spaced(Duration.millis(alerts.sweepMs))))

  /** The channel's oldest owed notifications; a row that no longer decodes is dropped (it would block the channel forever). */
  const owed = (channel: FanOutChannel) =>
    Effect.gen(function* () {
      const rows = yield* store.pendingFanOut(notifier, channel, DRAIN_BATCH)
      const out: Array<Owed> = []
      const broken: Array<number> = []
      for (const row of rows) {
        const decoded = decodeNotification(row.payload)
        if (decoded._tag === "Right") out.push({ id: row.id, note: decoded.right })
        else broken.push(row.id)
      }
      if (broken.length > 0) {
        yield* logWarning("undecodable alert notifications dropped from the fan-out", { notifier, channel, ids: broken.join(",") })
        yield* store.fanOutDone(broken)
      }
      return { owed: out, full: rows.length === DRAIN_BATCH }
    })

  const ids = (batch: ReadonlyArray<Owed>) => batch.map((o) => o.id)

  /**
   * Sends each owed notification, then deletes the rows. A row sent whose delete failed is not sent
   * again by this drainer when it retries (a database outage must not repeat a frame on every retry).
   */
  const sentThenDone = <E>(send: (notes: ReadonlyArray<Notification>) => Effect.Effect<void, E>) => {
    const sent = new Set<number>()
    return (batch: ReadonlyArray<Owed>) =>
      Effect.suspend(() => {
        // The batch is the oldest rows: a sent row missing from it was deleted by another run of the notifier.
        const owedNow = new Set(ids(batch))
        for (const id of sent) if (!owedNow.has(id)) sent.delete(id)
        const fresh = batch.filter((o) => !sent.has(o.id))
        return send(fresh.map((o) => o.note)).pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              for (const o of fresh) sent.add(o.id)
            })
          ),
          Effect.zipRight(store.fanOutDone(ids(batch))),
          Effect.tap(() =>
            Effect.sync(() => {
              for (const o of batch) sent.delete(o.id)
            })
          )
        )
      })
  }

  const deliverLive = sentThenDone((notes) =>
    Effect.sync(() => {
      for (const note of notes) live.publishAlert(note)
      alertNotifications("live", "sent").inc(notes.length)
    })
  )

  // A node without Redis has no stream to append to: what it owes the stream (rows written while
  // Redis was configured) is let go rather than kept forever.
  const deliverStream = sentThenDone((notes) => (stream.enabled ? stream.append(notes) : Effect.void))

  // The delivery rows and the hand-over in one transaction; the deliveries to this node's dispatcher.
  const deliverWebhooks = (batch: ReadonlyArray<Owed>) =>
    store.handOverToWebhooks(
      batch.map((o) => o.note),
      ids(batch),
      hooks.leaseMs,
      dispatcher.enqueue
    )

  /** One drainer: woken (wakes coalesce), it delivers until nothing is owed, retrying failed steps. */
  const drainer = <E>(channel: FanOutChannel, deliver: (batch: ReadonlyArray<Owed>) => Effect.Effect<unknown, E>) =>
    Effect.gen(function* () {
      const wake = yield* Queue.sliding<void>(1)
      let failing = false
      const step = Effect.flatMap(owed(channel), ({ owed, full }) => (owed.length === 0 ? Effect.succeed(full) : Effect.as(deliver(owed), full)))
      const drain = step.pipe(
        Effect.repeat({ while: (more) => more }),
        Effect.tap(() =>
          Effect.sync(() => {
            failing = false
          })
        ),
        Effect.tapError((error) => {
          if (failing) return Effect.void
          failing = true
          return logWarning("alert notifications wait for a channel; retrying", { notifier, channel, error: String(error) })
        }),
        Effect.retry(retry)
      )
      yield* Queue.take(wake).pipe(Effect.zipRight(drain), Effect.forever, Effect.forkScoped)
      return () => Queue.unsafeOffer(wake, undefined)
    })

  const wakers: Record<FanOutChannel, () => void> = {
    live: yield* drainer("live", deliverLive),
    stream: yield* drainer("stream", deliverStream),
    webhooks: yield* drainer("webhooks", deliverWebhooks)
  }
  /** Channels written to by the transaction in progress. */
  const recorded = new Set<FanOutChannel>()

  const fanOut: NotifierFanOut = {
    record: (notes, paging) => {
      const rows: Array<{ channel: FanOutChannel; payload: Notification }> = []
      for (const note of notes) {
        rows.push({ channel: "live", payload: note })
        if (!paging.has(note)) continue
        if (stream.enabled) rows.push({ channel: "stream", payload: note })
        rows.push({ channel: "webhooks", payload: note })
      }
      for (const row of rows) recorded.add(row.channel)
      return store.recordFanOut(notifier, rows)
    },
    committed: () => {
      for (const channel of recorded) wakers[channel]()
      recorded.clear()
    },
    resume: () => {
      wakers.live()
      wakers.stream()
      wakers.webhooks()
    }
  }
  return fanOut
})
