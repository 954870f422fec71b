/**
 * Delivery rows a target answered 2xx for, deleted from PostgreSQL in batches: whatever was
 * delivered while the last delete ran goes in the next one. Until its delete commits a row stays
 * "delivered" here: its lease is renewed and it is not sent again nor waited for.
 */
import { Duration, Effect } from "effect"
import type { WebhookRepo } from "../../storage/webhook-repo.js"

export const makeDeliveredRows = Effect.fn("DeliveredRows.make")(function* (repo: WebhookRepo, retryAfterMs: number) {
  const ids = new Set<number>()
  let wake: (() => void) | null = null

  const flush = Effect.suspend(() => {
    const batch = [...ids]
    return repo.delivered(batch).pipe(
      Effect.tap(() => {
        for (const id of batch) ids.delete(id)
      })
    )
  })
  const waitForRows = Effect.async<void>((resume) => {
    if (ids.size > 0) return resume(Effect.void)
    wake = () => {
      wake = null
      resume(Effect.void)
    }
    return Effect.sync(() => {
      wake = null
    })
  })
  yield* waitForRows.pipe(
    Effect.zipRight(flush.pipe(Effect.catchAll(() => Effect.sleep(Duration.millis(retryAfterMs))))),
    Effect.forever,
    Effect.forkScoped
  )

  return {
    add: (id: number): void => {
      ids.add(id)
      wake?.()
    },
    has: (id: number): boolean => ids.has(id),
    ids: (): Iterable<number> => ids,
    /** Deletes what is delivered now (shutdown). */
    flush
  } as const
})
