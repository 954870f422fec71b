/**
 * The AlertStore contract kept in memory, for in-process tests of the notifier actor that need no
 * database: the same answers as the SQL store (a transition of an alert not in a state to take it
 * answers null; claimed outbox rows are gone; a transaction that fails leaves nothing behind), and
 * `failing` to play a database outage.
 */
import { Effect, Layer } from "effect"
import type { AlertView, Notification } from "../../src/domain/notification.js"
import { tenantOf } from "../../src/domain/tenancy.js"
import { AlertStore, type FanOutChannel, type FanOutRow, type OpenAlert, type StoredEntry, type Transition } from "../../src/storage/alert-store.js"
import { DatabaseUnavailable } from "../../src/storage/errors.js"

type Row = { -readonly [K in keyof AlertView]: AlertView[K] } & { cooldownMs: number; lastEventSeq: number }

interface FanOut {
  readonly id: number
  readonly notifier: string
  readonly channel: FanOutChannel
  readonly payload: Notification
}

interface State {
  alerts: Map<number, Row>
  outbox: Set<number>
  fanOut: Array<FanOut>
  nextId: number
}

export interface MemoryAlertStore {
  readonly layer: Layer.Layer<AlertStore>
  /** Every alert, by id. */
  readonly alerts: () => ReadonlyArray<AlertView>
  /** Puts outbox rows (by seq) in place, as the writer's commit would. */
  readonly addOutbox: (...seqs: ReadonlyArray<number>) => void
  readonly outbox: () => ReadonlySet<number>
  /** Notifications owed to a channel, oldest first. */
  readonly owed: (channel: FanOutChannel) => ReadonlyArray<Notification>
  /** Notifications handed to the webhooks. */
  readonly handedToWebhooks: ReadonlyArray<Notification>
  /** While true, every call fails with DatabaseUnavailable. */
  failing: boolean
}

const copy = (s: State): State => ({
  alerts: new Map(Array.from(s.alerts, ([id, row]) => [id, { ...row }])),
  outbox: new Set(s.outbox),
  fanOut: [...s.fanOut],
  nextId: s.nextId
})

export const makeMemoryAlertStore = (): MemoryAlertStore => {
  let state: State = { alerts: new Map(), outbox: new Set(), fanOut: [], nextId: 1 }
  const handedToWebhooks: Array<Notification> = []
  const self: MemoryAlertStore = {
    layer: Layer.sync(AlertStore, () => AlertStore.make(store)),
    alerts: () => Array.from(state.alerts.values(), ({ cooldownMs: _c, lastEventSeq: _s, ...alert }) => alert),
    addOutbox: (...seqs) => {
      for (const seq of seqs) state.outbox.add(seq)
    },
    outbox: () => state.outbox,
    owed: (channel) => state.fanOut.filter((f) => f.channel === channel).map((f) => f.payload),
    handedToWebhooks,
    failing: false
  }

  /** A call of the store: fails while `failing`, else runs `f` on the state. */
  const call = <A>(f: (s: State) => A): Effect.Effect<A, DatabaseUnavailable> =>
    Effect.suspend(() => (self.failing ? Effect.fail(new DatabaseUnavailable({ message: "database unavailable (test)" })) : Effect.sync(() => f(state))))

  const view = ({ cooldownMs: _c, lastEventSeq: _s, ...alert }: Row): AlertView => ({ ...alert })
  const transitionOf = (s: State, row: Row): Transition => ({ alert: view(row), eventId: s.nextId++, at: Date.now() })

  const store = {
    transaction: <A, E, R>(_notifier: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E | DatabaseUnavailable, R> =>
      Effect.suspend((): Effect.Effect<A, E | DatabaseUnavailable, R> => {
        if (self.failing) return Effect.fail(new DatabaseUnavailable({ message: "database unavailable (test)" }))
        const before = copy(state)
        return Effect.onExit(body, (exit) =>
          Effect.sync(() => {
            if (exit._tag === "Failure") state = before
          })
        )
      }),
    loadEntries: (notifier: string) =>
      call((s): ReadonlyArray<StoredEntry> => {
        const latest = new Map<string, Row>()
        for (const row of s.alerts.values()) {
          if (row.notifier !== notifier) continue
          const key = `${row.sensor}\u0000${row.rule}`
          const seen = latest.get(key)
          if (seen === undefined || seen.id < row.id) latest.set(key, row)
        }
        return Array.from(latest.values(), (r) => ({
          id: r.id,
          sensor: r.sensor,
          rule: r.rule,
          status: r.status,
          resolvedAt: r.resolvedAt,
          cooldownMs: r.cooldownMs,
          lastEventSeq: r.lastEventSeq
        }))
      }),
    claimOutbox: (ids: ReadonlyArray<number>) =>
      call((s) => {
        const claimed = new Set<number>()
        for (const id of ids) if (s.outbox.delete(id)) claimed.add(id)
        return claimed
      }),
    open: (o: OpenAlert) =>
      call((s) => {
        const row: Row = {
          id: s.nextId++,
          notifier: o.notifier,
          sensor: o.sensor,
          rule: o.rule,
          kind: o.kind,
          severity: o.severity,
          status: "open",
          message: o.message,
          value: o.value,
          count: o.count,
          openedAt: o.at,
          lastSeen: o.at,
          acknowledgedAt: null,
          acknowledgedBy: null,
          resolvedAt: null,
          resolvedBy: null,
          cooldownMs: o.cooldownMs,
          lastEventSeq: o.seq
        }
        s.alerts.set(row.id, row)
        return transitionOf(s, row)
      }),
    update: (alertId: number, count: number, value: number | null, at: number, seq: number) =>
      call((s) => {
        const row = s.alerts.get(alertId)
        if (row === undefined) return
        row.count += count
        row.value = value ?? row.value
        row.lastSeen = Math.max(row.lastSeen, at)
        row.lastEventSeq = seq
      }),
    resolve: (alertId: number, by: string, seq: number | null) =>
      call((s) => {
        const row = s.alerts.get(alertId)
        if (row === undefined || row.status === "resolved") return null
        row.status = "resolved"
        row.resolvedAt = Date.now()
        row.resolvedBy = by
        if (seq !== null) row.lastEventSeq = seq
        return transitionOf(s, row)
      }),
    acknowledge: (alertId: number, by: string) =>
      call((s) => {
        const row = s.alerts.get(alertId)
        if (row === undefined || row.status !== "open") return null
        row.status = "acknowledged"
        row.acknowledgedAt = Date.now()
        row.acknowledgedBy = by
        return transitionOf(s, row)
      }),
    find: (alertId: number, tenant: string) =>
      call((s) => {
        const row = s.alerts.get(alertId)
        return row !== undefined && tenantOf(row.notifier) === tenant ? view(row) : null
      }),
    summaryEvent: (_notifier: string, _detail: object) => call((s) => ({ id: s.nextId++, at: Date.now() })),
    recordFanOut: (notifier: string, rows: ReadonlyArray<{ readonly channel: FanOutChannel; readonly payload: Notification }>) =>
      call((s) => {
        for (const r of rows) s.fanOut.push({ id: s.nextId++, notifier, channel: r.channel, payload: r.payload })
      }),
    pendingFanOut: (notifier: string, channel: FanOutChannel, limit: number) =>
      call((s): ReadonlyArray<FanOutRow> =>
        s.fanOut
          .filter((f) => f.notifier === notifier && f.channel === channel)
          .slice(0, limit)
          .map((f) => ({ id: f.id, payload: f.payload }))
      ),
    fanOutDone: (ids: ReadonlyArray<number>) =>
      call((s) => {
        const done = new Set(ids)
        s.fanOut = s.fanOut.filter((f) => !done.has(f.id))
      }),
    handOverToWebhooks: (notes: ReadonlyArray<Notification>, fanOutIds: ReadonlyArray<number>, _leaseMs: number, committed: (deliveries: ReadonlyArray<never>) => void) =>
      call((s) => {
        const done = new Set(fanOutIds)
        s.fanOut = s.fanOut.filter((f) => !done.has(f.id))
        handedToWebhooks.push(...notes)
        committed([])
      })
  }
  return self
}
