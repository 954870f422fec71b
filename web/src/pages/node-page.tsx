/**
 * This node at a glance, refreshed every 2 s: readiness (GET /ready, whose body is the same at 200
 * and 503) and, from /metrics, the ingest rate, the ack latency, sensors in memory and the writer's
 * queue.
 */
import { useEffect, useState } from "preact/hooks"
import { type Access, type ApiFailure, call, isRecord, json, meOf, text } from "../api"
import { formatCount, formatRate, formatSeconds, formatTime } from "../format"
import { figuresOf, type NodeFigures, type NodeSample, sampleOf } from "../node-sample"
import { PageHeading } from "../page-heading"
import { Problem } from "./problem"

const REFRESH_MS = 2_000
const NOT_LOADED = "Not loaded yet."

interface Readiness {
  readonly ready: boolean
  readonly checks: ReadonlyArray<{ readonly name: string; readonly up: boolean | null }>
  readonly writerError: string | null
}

const CHECKS: ReadonlyArray<{ readonly key: string; readonly name: string }> = [
  { key: "database", name: "Database" },
  { key: "cluster", name: "Cluster" },
  { key: "writer", name: "Writer committing" },
  { key: "redis", name: "Redis" },
  { key: "mqtt", name: "MQTT broker" }
]

const readinessOf = (u: unknown): Readiness | null => {
  if (!isRecord(u) || !isRecord(u.checks) || (u.status !== "ready" && u.status !== "not_ready")) return null
  const checks = u.checks
  const writer = isRecord(u.writer) && typeof u.writer.lastError === "string" ? u.writer.lastError : null
  return {
    ready: u.status === "ready",
    checks: CHECKS.map(({ key, name }) => {
      const v = checks[key]
      return { name, up: typeof v === "boolean" ? v : null }
    }),
    writerError: writer
  }
}

const checkText = (up: boolean | null) => (up === null ? "not configured" : up ? "ok" : "failing")

interface View {
  readonly readiness: Readiness | null
  readonly figures: NodeFigures | null
  readonly updatedAt: number | null
  readonly problem: ApiFailure | null
}

export const NodePage = ({ access }: { readonly access: Access }) => {
  const [view, setView] = useState<View>({ readiness: null, figures: null, updatedAt: null, problem: null })

  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let previous: NodeSample | null = null
    const tick = async () => {
      // /me too: /ready (and /metrics with METRICS_PUBLIC) are public, and a revoked key must still end the session.
      const [ready, metrics] = await Promise.all([
        call(access, "/ready", json(readinessOf), { answered: [200, 503] }),
        call(access, "/metrics", text),
        access.credential === null ? null : call(access, "/api/v1/me", json(meOf))
      ])
      if (stopped) return
      const now = Date.now()
      const sample = metrics.ok ? sampleOf(metrics.value, now) : null
      const figures = sample === null ? null : figuresOf(sample, previous)
      if (sample !== null) previous = sample
      setView((v) => ({
        readiness: ready.ok ? ready.value : v.readiness,
        figures: figures ?? v.figures,
        updatedAt: ready.ok || metrics.ok ? now : v.updatedAt,
        problem: !ready.ok ? ready.failure : !metrics.ok ? metrics.failure : null
      }))
      timer = setTimeout(() => void tick(), REFRESH_MS)
    }
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [access])

  const { readiness, figures, updatedAt, problem } = view
  return (
    <>
      <PageHeading id="node-title" title="Node" />
      <p class="meta">
        {updatedAt === null ? "Loading…" : `Updated ${formatTime(updatedAt)}, every ${REFRESH_MS / 1000} s`}
      </p>
      <Problem what="Could not refresh" message={problem?.message ?? null} />
      <div class="cards">
        <section class="panel" aria-labelledby="readiness-title">
          <h2 id="readiness-title">Readiness</h2>
          {readiness === null ? (
            <p>{NOT_LOADED}</p>
          ) : (
            <>
              <p class={`readiness ${readiness.ready ? "is-ready" : "is-not-ready"}`} data-testid="readiness">
                {readiness.ready ? "Ready" : "Not ready"}
              </p>
              <dl class="checks">
                {readiness.checks.map((c) => (
                  <div key={c.name} class={`check check-${checkText(c.up).replace(" ", "-")}`}>
                    <dt>{c.name}</dt>
                    <dd>{checkText(c.up)}</dd>
                  </div>
                ))}
              </dl>
              {readiness.writerError !== null && <p class="error">Writer: {readiness.writerError}</p>}
            </>
          )}
        </section>
        <section class="panel" aria-labelledby="ingest-title">
          <h2 id="ingest-title">Ingest</h2>
          <dl class="figures">
            <div>
              <dt>Accepted readings</dt>
              <dd data-testid="ingest-rate">{formatRate(figures?.ingestPerSecond ?? null)}</dd>
            </div>
            <div>
              <dt>
                Ack latency p50 <span class="unit">({figures?.latencyWindow ?? "interval"})</span>
              </dt>
              <dd>{formatSeconds(figures?.ackP50 ?? null)}</dd>
            </div>
            <div>
              <dt>
                Ack latency p99 <span class="unit">({figures?.latencyWindow ?? "interval"})</span>
              </dt>
              <dd>{formatSeconds(figures?.ackP99 ?? null)}</dd>
            </div>
            <div>
              <dt>Active sensors</dt>
              <dd data-testid="active-sensors">{formatCount(figures?.activeSensors ?? null)}</dd>
            </div>
            <div>
              <dt>Writer queue (rows)</dt>
              <dd>{formatCount(figures?.writerQueueRows ?? null)}</dd>
            </div>
          </dl>
        </section>
      </div>
    </>
  )
}
