/** Metrics of readings forwarding (Redis stream, MQTT topics): what each target sent, dropped, and holds. */
import { Counter, Gauge } from "prom-client"
import { atZero, registry } from "./metrics-registry.js"

export type ForwardTarget = "redis" | "mqtt"

const forwardReadingsTotal = new Counter({
  name: "flowmesh_forward_readings_total",
  help: "Committed readings forwarded, by target (redis: the readings stream, mqtt: <prefix>/out/<sensor>) and outcome (sent: the target took it; dropped: its queue was full, or the target failed or did not confirm it)",
  labelNames: ["target", "outcome"] as const,
  registers: [registry]
})
export const forwardReadings: Record<ForwardTarget, { readonly sent: Counter.Internal; readonly dropped: Counter.Internal }> = {
  redis: atZero({ sent: forwardReadingsTotal.labels("redis", "sent"), dropped: forwardReadingsTotal.labels("redis", "dropped") }),
  mqtt: atZero({ sent: forwardReadingsTotal.labels("mqtt", "sent"), dropped: forwardReadingsTotal.labels("mqtt", "dropped") })
}

const depthReaders: Record<ForwardTarget, Set<() => number>> = { redis: new Set(), mqtt: new Set() }

new Gauge({
  name: "flowmesh_forward_queue_readings",
  help: "Committed readings waiting in a forwarding target's queue (bounded by FORWARD_QUEUE_READINGS)",
  labelNames: ["target"] as const,
  registers: [registry],
  collect() {
    for (const target of ["redis", "mqtt"] as const) {
      let sum = 0
      for (const read of depthReaders[target]) sum += read()
      this.labels(target).set(sum)
    }
  }
})

/** Read at scrape time (the queue changes per commit; setting a gauge there would cost an object each time). */
export const reportForwardQueue = (target: ForwardTarget, read: () => number): (() => void) => {
  depthReaders[target].add(read)
  return () => depthReaders[target].delete(read)
}
