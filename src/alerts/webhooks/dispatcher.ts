/**
 * Sends webhook deliveries. Callers hand over rows they just committed (`enqueue`, synchronous, never
 * waits); each target webhook has its own bounded FIFO and one worker fiber that sends its items in
 * order, one at a time, so a slow or dead target delays nobody else.
 *
 * Durability lives in PostgreSQL, not here: a delivery row is deleted only after a 2xx, and every
 * row this node holds in memory has its lease renewed every leaseMs / 3. A row this node does not
 * hold (its queue was full, its node died, this node stopped) keeps its lease until it expires; then
 * any node's recovery loop (every ALERT_SWEEP_MS) claims and sends it.
 *
 * Order per alert: a later event of an alert (acknowledged, resolved) never reaches a target before
 * an earlier one. Before sending it, the worker asks PostgreSQL whether an earlier delivery of the
 * same alert to the same target is still pending anywhere (held by another node, or waiting out a
 * dead node's lease); if so it lets go of the row, and the recovery loop, which skips rows with
 * earlier ones pending, takes it once they are delivered or dead-lettered.
 *
 * Failures: 408, 429, 5xx, timeouts and network errors are retried (jittered exponential backoff,
 * or the target's Retry-After on 429/503 if longer) until WEBHOOK_MAX_ATTEMPTS, then dead-lettered;
 * any other answer is dead-lettered at once. Redirects are not followed (a signed body is not
 * forwarded to another address): a 3xx is permanent. A per-target circuit breaker stops sending
 * after WEBHOOK_BREAKER_FAILURES consecutive failures; after WEBHOOK_BREAKER_OPEN_MS the head item
 * goes out alone as the probe. Neither URL nor secret is ever logged (webhook URLs often embed tokens).
 */
import { Duration, Effect, FiberSet, Schedule } from "effect"
import { AppConfig } from "../../config.js"
import { logWarning } from "../../telemetry/log.js"
import { webhookBreakerOpen, webhookDeliveries, webhookDeliverySeconds, webhookQueueDepth } from "../../telemetry/metrics.js"
import type { Delivery } from "../../storage/webhook-repo.js"
import { WebhookRepo } from "../../storage/webhook-repo.js"
import { classifyStatus, retryAfterMs, retryDelayMs } from "./backoff.js"
import { type BreakerState, blockedUntil, canAttempt, closedBreaker, isTripped, recordFailure, recordSuccess } from "./breaker.js"
import { makeDeliveredRows } from "./delivered-rows.js"
import { Fifo } from "./fifo.js"
import { type Endpoint, postDelivery } from "./request.js"


interface Target {
  readonly webhookId: string
  readonly queue: Fifo<Delivery>
  breaker: BreakerState
  endpoint: Endpoint | null
  /** When `endpoint` was read; it is read again after sweepMs, after a failure, and after idling. */
  loadedAt: number
  wake: (() => void) | null
}

/** What a receiver could notice: the breaker and queue of one target, for tests and diagnostics. */
export interface TargetView {
  readonly queued: number
  readonly breaker: BreakerState
}

export class WebhookDispatcher extends Effect.Service<WebhookDispatcher>()("flowmesh/WebhookDispatcher", {
  scoped: Effect.gen(function* () {
    const { webhooks: settings, alerts } = yield* AppConfig
    const repo = yield* WebhookRepo
    const breakerSettings = { failures: settings.breakerFailures, openMs: settings.breakerOpenMs }
    const targets = new Map<string, Target>()
    /** Ids queued or in flight on this node (their leases are renewed). */
    const held = new Set<number>()
    /** Ids delivered, whose rows are not deleted yet (batched; their leases are renewed too). */
    const delivered = yield* makeDeliveredRows(repo, settings.backoffMaxMs)
    let closing = false

    const workers = yield* FiberSet.make<void, never>()
    const runWorker = yield* FiberSet.runtime(workers)<never>()

    const depthChanged = () => webhookQueueDepth.set(held.size)
    const setBreaker = (t: Target, state: BreakerState) => {
      t.breaker = state
      webhookBreakerOpen.labels(t.webhookId).set(isTripped(state) ? 1 : 0)
    }

    const release = (d: Delivery) => {
      held.delete(d.id)
      depthChanged()
    }

    const deadLetter = (d: Delivery, attempts: number, error: string) =>
      repo.deadLetter(d.id, attempts, error).pipe(
        Effect.tap(() => webhookDeliveries.dead_lettered.inc()),
        Effect.zipRight(logWarning("webhook delivery dead-lettered", { webhook: d.webhookId, event: d.eventId, attempts, error })),
        // Not moved: the row keeps its attempts and comes back through the recovery loop.
        Effect.catchAll(() => Effect.void)
      )

    /** One request for the head item, and what follows from its answer. */
    const attempt = Effect.fn("WebhookDispatcher.attempt")(function* (t: Target, endpoint: Endpoint, d: Delivery) {
      const started = performance.now()
      const answer = yield* postDelivery(endpoint, d, settings.timeoutMs)
      webhookDeliverySeconds.observe((performance.now() - started) / 1000)
      const verdict = answer._tag === "Answered" ? classifyStatus(answer.status) : "retryable"
      const error = answer._tag === "Answered" ? `http ${answer.status}` : answer.error
      if (verdict === "delivered" || verdict === "permanent") {
        setBreaker(t, recordSuccess(t.breaker))
        t.queue.dropHead()
        if (verdict === "permanent") {
          release(d)
          return yield* deadLetter(d, d.attempts + 1, error)
        }
        delivered.add(d.id)
        release(d)
        webhookDeliveries.delivered.inc()
        return
      }
      const attempts = d.attempts + 1
      setBreaker(t, recordFailure(t.breaker, Date.now(), breakerSettings))
      t.loadedAt = 0
      if (attempts >= settings.maxAttempts) {
        t.queue.dropHead()
        release(d)
        return yield* deadLetter(d, attempts, error)
      }
      t.queue.replaceHead({ ...d, attempts })
      webhookDeliveries.retried.inc()
      yield* repo.recordFailure(d.id, attempts, error).pipe(Effect.catchAll(() => Effect.void))
      yield* logWarning("webhook delivery failed; will retry", { webhook: d.webhookId, event: d.eventId, attempts, error })
      const retryAfter = answer._tag === "Answered" ? retryAfterMs(answer.retryAfter, Date.now()) : null
      const status = answer._tag === "Answered" ? answer.status : null
      const delay = retryDelayMs(attempts, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs }, Math.random, status, retryAfter)
      yield* Effect.sleep(Duration.millis(delay))
    })

    /** Whether an earlier event of the delivery's alert is pending for the same target (not counting ones this node delivered). */
    const mustWait = (d: Delivery) =>
      d.eventType === "alert.opened" || d.eventType === "alert.summary"
        ? Effect.succeed(false)
        : repo.earlierOfSameAlert(d.id).pipe(Effect.map((ids) => ids.some((id) => !delivered.has(id))))

    /** Lets go of a delivery that would overtake an earlier event of its alert; the recovery loop takes it after that one. */
    const park = (t: Target, d: Delivery) =>
      Effect.suspend(() => {
        t.queue.dropHead()
        release(d)
        return repo.releaseLease(d.id).pipe(Effect.catchAll(() => Effect.void))
      })

    /** The target's url and secret; null when the webhook is gone or disabled. */
    const endpointOf = (t: Target) => {
      if (t.endpoint !== null && Date.now() - t.loadedAt < alerts.sweepMs) return Effect.succeed(t.endpoint)
      return repo.get(t.webhookId).pipe(
        Effect.map((w) => {
          t.endpoint = w === null || !w.enabled ? null : { url: w.url, secret: w.secret }
          t.loadedAt = Date.now()
          return t.endpoint
        }),
        // Database unreachable: keep sending with what we know, or wait a little for a first read.
        Effect.catchAll(() =>
          t.endpoint !== null ? Effect.succeed(t.endpoint) : Effect.as(Effect.sleep(Duration.millis(settings.backoffMaxMs)), undefined)
        )
      )
    }

    const hasWork = (t: Target) =>
      Effect.async<void>((resume) => {
        if (t.queue.size > 0) return resume(Effect.void)
        t.wake = () => {
          t.wake = null
          resume(Effect.void)
        }
        return Effect.sync(() => {
          t.wake = null
        })
      })

    /** Ends the target: its queued rows stay leased in PostgreSQL and expire into the recovery loop. */
    const retire = (t: Target) =>
      Effect.sync(() => {
        if (targets.get(t.webhookId) === t) targets.delete(t.webhookId)
        for (const d of t.queue.drain()) held.delete(d.id)
        depthChanged()
        webhookBreakerOpen.remove(t.webhookId)
      })

    const worker = (t: Target) =>
      Effect.gen(function* () {
        while (true) {
          if (t.queue.size === 0) {
            // Idle for a whole lease: the worker ends (a later enqueue starts a new one).
            const woke = yield* hasWork(t).pipe(
              Effect.timeoutTo({ duration: Duration.millis(settings.leaseMs), onSuccess: () => true, onTimeout: () => false })
            )
            if (!woke && t.queue.size === 0) {
              // Decided and deregistered in one step, so no enqueue lands in a queue nobody reads.
              targets.delete(t.webhookId)
              return
            }
            t.loadedAt = 0
          }
          const until = blockedUntil(t.breaker)
          if (until !== null && until > Date.now()) {
            yield* Effect.sleep(Duration.millis(until - Date.now()))
            continue
          }
          const endpoint = yield* endpointOf(t)
          if (endpoint === undefined) continue
          if (endpoint === null) return
          const head = t.queue.peek()
          if (head === undefined) continue
          const waits = yield* Effect.either(mustWait(head))
          if (waits._tag === "Left") {
            yield* Effect.sleep(Duration.millis(settings.backoffBaseMs))
            continue
          }
          if (waits.right) {
            yield* park(t, head)
            continue
          }
          const decision = canAttempt(t.breaker, Date.now())
          setBreaker(t, decision.state)
          if (decision.allowed) yield* attempt(t, endpoint, head)
          else yield* Effect.sleep(Duration.millis(settings.backoffBaseMs))
        }
      }).pipe(
        Effect.catchAllCause((cause) => logWarning("webhook worker stopped", { webhook: t.webhookId, cause: String(cause) })),
        Effect.ensuring(retire(t))
      )

    const targetOf = (webhookId: string): Target => {
      const existing = targets.get(webhookId)
      if (existing !== undefined) return existing
      const t: Target = { webhookId, queue: new Fifo(), breaker: closedBreaker, endpoint: null, loadedAt: 0, wake: null }
      targets.set(webhookId, t)
      runWorker(worker(t))
      return t
    }

    const enqueue = (deliveries: ReadonlyArray<Delivery>): void => {
      if (closing) return
      for (const d of deliveries) {
        if (held.has(d.id) || delivered.has(d.id)) continue
        const t = targetOf(d.webhookId)
        if (t.queue.size >= settings.queueMax) {
          webhookDeliveries.overflow.inc()
          continue
        }
        t.queue.push(d)
        held.add(d.id)
        t.wake?.()
      }
      depthChanged()
    }

    yield* Effect.suspend(() => repo.renewLeases([...held, ...delivered.ids()], settings.leaseMs)).pipe(
      Effect.catchAll(() => Effect.void),
      Effect.repeat(Schedule.spaced(Duration.millis(Math.floor(settings.leaseMs / 3)))),
      Effect.forkScoped
    )

    yield* repo.claimStale(settings.queueMax, settings.leaseMs).pipe(
      Effect.tap((claimed) => Effect.sync(() => enqueue(claimed))),
      Effect.catchAll(() => Effect.void),
      Effect.repeat(Schedule.spaced(Duration.millis(alerts.sweepMs))),
      Effect.forkScoped
    )

    // On shutdown: stop the workers (interrupting requests in flight), then delete what was delivered.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closing = true
      }).pipe(
        Effect.zipRight(FiberSet.clear(workers)),
        Effect.zipRight(delivered.flush),
        Effect.timeout(Duration.millis(settings.timeoutMs)),
        Effect.ignore
      )
    )

    return {
      /**
       * Hands committed delivery rows to their targets' queues. Never waits; a row that does not fit
       * (WEBHOOK_QUEUE_MAX) is counted and left to the recovery loop; one already held is ignored.
       */
      enqueue,
      inspect: (webhookId: string): TargetView | null => {
        const t = targets.get(webhookId)
        return t === undefined ? null : { queued: t.queue.size, breaker: t.breaker }
      }
    } as const
  })
}) {}
