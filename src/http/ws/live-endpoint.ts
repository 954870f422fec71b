/**
 * `WS /ws/live`: dashboards subscribe to sensors (or id prefixes) and receive their readings,
 * status changes and notices, at most one readings frame per `LIVE_INTERVAL_MS` per connection.
 */
import { selectProtocol } from "../auth/credentials.js"
import { type InternalId, storedInternalId } from "../../domain/tenancy.js"
import { Effect, Layer, Runtime } from "effect"
import { WebSocketServer } from "ws"
import { IngestGateway } from "../../ingest/gateway.js"
import { AppConfig } from "../../config.js"
import { LiveFeed } from "../../live/live-feed.js"
import { SensorRepo } from "../../storage/sensor-repo.js"
import { wsConnections, wsRejected } from "../../telemetry/metrics.js"
import { type Admission, admitUpgrade, clientAddress, ConnectionsPerIp, EdgeServer } from "./edge-server.js"
import { startHeartbeat } from "./heartbeat.js"
import { LiveConnection, type LiveServices, type SensorSnapshot } from "./live-connection.js"
import { closeAll } from "./shutdown.js"
import { authenticatedUpgrade } from "./upgrade-auth.js"
import { Authenticator } from "../auth/authenticator.js"

export const LIVE_PATH = "/ws/live"

const STATE_LOOKUP_CONCURRENCY = 8

export const LiveEndpointLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { live, ws, ingest } = yield* AppConfig
    const { server } = yield* EdgeServer
    const feed = yield* LiveFeed
    const repo = yield* SensorRepo
    const gateway = yield* IngestGateway
    const runtime = yield* Effect.runtime<never>()
    const runPromise = Runtime.runPromise(runtime)
    const runCallback = Runtime.runCallback(runtime)
    const auth = yield* Authenticator

    /** Current state of sensors that exist; null for those not seen yet (never creates one). */
    const stateOf = (sensor: InternalId): Effect.Effect<SensorSnapshot> =>
      repo.find(sensor).pipe(
        Effect.flatMap((row) => (row === null ? Effect.succeed(null) : gateway.state(sensor))),
        Effect.map((state) => ({ sensor, state })),
        Effect.orElseSucceed(() => ({ sensor, state: null }))
      )

    // One timer for the node: it fires when the earliest waiting connection may send again.
    const dirty = new Set<LiveConnection>()
    let timer: NodeJS.Timeout | null = null
    let timerDue = Number.POSITIVE_INFINITY
    const arm = (due: number) => {
      if (timer !== null && timerDue <= due) return
      if (timer !== null) clearTimeout(timer)
      timerDue = due
      timer = setTimeout(flushDue, Math.max(0, due - Date.now()))
    }
    const flushDue = () => {
      timer = null
      timerDue = Number.POSITIVE_INFINITY
      const now = Date.now()
      let next = Number.POSITIVE_INFINITY
      for (const c of dirty) {
        const due = c.lastFlushAt + live.intervalMs
        if (due > now) next = Math.min(next, due)
        else if (c.flush(now)) next = Math.min(next, now + live.intervalMs)
        else {
          c.dirty = false
          dirty.delete(c)
        }
      }
      if (next !== Number.POSITIVE_INFINITY) arm(next)
    }

    const services: LiveServices = {
      subscribe: feed.subscribe,
      unsubscribe: feed.unsubscribe,
      // Live topics hold the node's ids (a connection maps every id it is given with internalId).
      states: (sensors) => runPromise(Effect.forEach(sensors, (s) => stateOf(storedInternalId(s)), { concurrency: STATE_LOOKUP_CONCURRENCY })),
      markDirty: (c) => {
        dirty.add(c)
        arm(Math.max(Date.now(), c.lastFlushAt + live.intervalMs))
      }
    }
    const settings = { bufferReadings: live.bufferReadings, highWaterBytes: ws.socketHighWaterBytes, maxSubscriptions: live.maxSubscriptions }

    const wss = new WebSocketServer({ noServer: true, maxPayload: ws.maxFrameBytes, perMessageDeflate: false, clientTracking: false, handleProtocols: selectProtocol })
    const connections = new Set<LiveConnection>()
    const perIp = new ConnectionsPerIp()
    let closing = false

    const stopHealth = feed.onHealthChange((healthy) => {
      const notice = healthy
        ? { type: "recovered", message: "live readings from other nodes flow again" }
        : { type: "degraded", reason: "redis_unavailable", message: "live readings from other nodes are paused (Redis is unreachable); readings of sensors on this node still flow" }
      for (const c of connections) c.notice(notice)
    })

    server.route(LIVE_PATH, authenticatedUpgrade(auth, runCallback, "live", "viewer", ingest.retryAfterSeconds, (request, socket, head, principal) => {
      const admission: Admission = {
        endpoint: "live",
        closing,
        open: connections.size,
        limit: live.maxConnections,
        setting: "LIVE_MAX_CONNECTIONS",
        openFromIp: perIp.count(clientAddress(request)),
        limitPerIp: live.maxConnectionsPerIp,
        settingPerIp: "LIVE_MAX_CONNECTIONS_PER_IP",
        retryAfterSeconds: ingest.retryAfterSeconds
      }
      if (!admitUpgrade(socket, admission)) return
      wss.handleUpgrade(request, socket, head, (socketOpen) => {
        const connection = new LiveConnection(socketOpen, settings, services, principal)
        connections.add(connection)
        const ip = clientAddress(request)
        perIp.add(ip)
        wsConnections.live.inc()
        if (!feed.healthy()) {
          connection.notice({ type: "degraded", reason: "redis_unavailable", message: "live readings from other nodes are paused (Redis is unreachable)" })
        }
        socketOpen.on("error", (e: Error & { code?: string }) => {
          if (e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") wsRejected("live", "too_big").inc()
        })
        socketOpen.on("close", () => {
          connections.delete(connection)
          perIp.remove(ip)
          dirty.delete(connection)
          connection.release()
          wsConnections.live.dec()
        })
      })
    }))

    const stopHeartbeat = startHeartbeat(connections, ws.heartbeatMs, () => false, () => wsRejected("live", "dead").inc())

    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closing = true
        stopHeartbeat()
        stopHealth()
        for (const c of dirty) c.lastFlushAt = 0
        flushDue()
        if (timer !== null) clearTimeout(timer)
        await closeAll([], Array.from(connections, (c) => c.ws), 0)
        await new Promise<void>((resolve) => wss.close(() => resolve()))
      })
    )
  })
)
