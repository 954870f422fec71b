/**
 * Many small requests as one: the gateway calls made in one turn of the event loop are handed to
 * the gateway as a single call at the end of the turn (its check phase), and each caller is told
 * its own groups' outcomes. A device sending one reading per message then costs the node one
 * gateway call, one timer and one commit wait per turn instead of per message. A sensor appears
 * at most once per call: a request naming a sensor already in the open batch sends that batch
 * first, so a sensor's readings still reach it in the order the requests came. Calls of the two
 * ack modes never share a batch.
 */
import { type IngestGateway, type IngestGroup, reachedActors, type SubmitResult } from "./gateway.js"

type Submit = IngestGateway["submitNow"]

interface Part {
  readonly from: number
  readonly count: number
  readonly done: (result: SubmitResult) => void
}

interface Batch {
  groups: Array<IngestGroup>
  parts: Array<Part>
  sensors: Set<string>
  receivedAt: number
}

const emptyBatch = (): Batch => ({ groups: [], parts: [], sensors: new Set(), receivedAt: 0 })

/** The same gateway, with the calls of a turn merged; `schedule` runs a function at the end of the turn. */
export const batchingPerTurn = (
  gateway: { readonly submitNow: Submit },
  schedule: (f: () => void) => void = setImmediate
): { readonly submitNow: Submit } => {
  const open = { durable: emptyBatch(), accepted: emptyBatch() }
  const scheduled = { durable: false, accepted: false }

  const send = (durable: boolean) => {
    const mode = durable ? "durable" : "accepted"
    const batch = open[mode]
    if (batch.parts.length === 0) return
    open[mode] = emptyBatch()
    const { parts } = batch
    if (parts.length === 1) return gateway.submitNow(batch.groups, batch.receivedAt, durable, parts[0]!.done)
    gateway.submitNow(batch.groups, batch.receivedAt, durable, (result) => {
      if (!reachedActors(result)) for (const p of parts) p.done(result)
      else for (const p of parts) p.done(result.slice(p.from, p.from + p.count))
    })
  }

  return {
    submitNow: (groups, receivedAt, durable, done) => {
      const mode = durable ? "durable" : "accepted"
      let batch = open[mode]
      for (const g of groups) {
        if (batch.sensors.has(g.sensor)) {
          send(durable)
          batch = open[mode]
          break
        }
      }
      if (batch.parts.length === 0) batch.receivedAt = receivedAt
      batch.parts.push({ from: batch.groups.length, count: groups.length, done })
      // The batch's receipt time is its first request's: the others came within the same turn.
      for (const g of groups) {
        batch.groups.push(g)
        batch.sensors.add(g.sensor)
      }
      if (!scheduled[mode]) {
        scheduled[mode] = true
        schedule(() => {
          scheduled[mode] = false
          send(durable)
        })
      }
    }
  }
}
