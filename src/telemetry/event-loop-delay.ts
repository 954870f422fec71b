/**
 * Event-loop delay as a cumulative Prometheus histogram: a timer due every 10 ms records how late it
 * fires, which is how long anything else waiting on this node's one thread (an ack, a lock refresh,
 * a live frame) was held up. It is the measurement `perf_hooks.monitorEventLoopDelay` makes, kept
 * cumulative so that any window (a bench phase, a Prometheus `rate()`) gives its own p99 and max;
 * prom-client's `nodejs_eventloop_lag_*` gauges come from `monitorEventLoopDelay` too but are reset
 * at every scrape. One sample per 10 ms costs ~0.02 % of a core.
 */
import { Histogram, type Registry } from "prom-client"

const RESOLUTION_MS = 10

/** Bucket bounds in seconds: 20 ms and 100 ms are the no-stall limits the bench checks. */
export const EVENT_LOOP_DELAY_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Registers the histogram and starts sampling; the returned function stops it. */
export const monitorEventLoopDelay = (registry: Registry): (() => void) => {
  const histogram = new Histogram({
    name: "flowmesh_event_loop_delay_seconds",
    help: `How late a timer due every ${RESOLUTION_MS} ms fired: time the node's event loop was busy with something else`,
    buckets: EVENT_LOOP_DELAY_BUCKETS,
    registers: [registry]
  })
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    const due = performance.now() + RESOLUTION_MS
    timer = setTimeout(() => {
      histogram.observe(Math.max(0, performance.now() - due) / 1000)
      arm()
    }, RESOLUTION_MS)
    timer.unref()
  }
  arm()
  return () => clearTimeout(timer)
}
