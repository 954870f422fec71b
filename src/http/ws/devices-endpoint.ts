/**
 * `WS /ws/devices`: devices stream readings and get an ack per frame. The ack mode is chosen at
 * connect time (`?ack=durable|accepted`). Readings go through one coalescer per ack mode, shared by
 * every connection of the node, so that frames of one reading still reach the actors in batches.
 * On shutdown: refuse new connections, stop reading, answer every frame already read, close 1001.
 */
import { selectProtocol } from "../auth/credentials.js"
import { Effect, Layer, Runtime } from "effect"
import { WebSocketServer } from "ws"
import { failureMessage } from "../../ingest/failures.js"
import { IngestGateway, reachedActors } from "../../ingest/gateway.js"
import { AppConfig } from "../../config.js"
import { ingestLatencyWs, wsBatchReadings, wsConnections, wsRejected } from "../../telemetry/metrics.js"
import { Coalescer, fail, type SensorBatch, settle } from "./coalescer.js"
import { DeviceConnection, type DeviceSettings } from "./device-connection.js"
import { type Admission, admitUpgrade, clientAddress, ConnectionsPerIp, EdgeServer, queryOf, refuseUpgrade } from "./edge-server.js"
import { startHeartbeat } from "./heartbeat.js"
import { authenticatedUpgrade } from "./upgrade-auth.js"
import { Authenticator } from "../auth/authenticator.js"
import { closeAll } from "./shutdown.js"

export const DEVICES_PATH = "/ws/devices"

export const DevicesEndpointLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { ws, ingest, storage } = yield* AppConfig
    const { server } = yield* EdgeServer
    const gateway = yield* IngestGateway
    const auth = yield* Authenticator
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runCallback(runtime)

    const unavailable = (message: string) => ({ code: "unavailable" as const, message })

    const dispatch = (durable: boolean) => (batches: ReadonlyArray<SensorBatch>) => {
      for (const b of batches) wsBatchReadings.observe(b.ts.length)
      gateway.submitNow(batches, Date.now(), durable, (result) => {
        if (!reachedActors(result)) {
          for (const b of batches) fail(b, unavailable(failureMessage(result)))
          return
        }
        result.forEach((o, i) => {
          if (o._tag === "Decided") settle(batches[i]!, o.codes)
          else fail(batches[i]!, unavailable(failureMessage(o)))
        })
      })
    }
    const window = { windowMs: ws.coalesceWindowMs, maxReadings: ws.coalesceMaxReadings }
    const coalescers = { durable: new Coalescer(window, dispatch(true)), accepted: new Coalescer(window, dispatch(false)) }

    const settingsFor = (durable: boolean): DeviceSettings => ({
      limits: { maxReadings: ws.maxReadingsPerFrame, maxFutureSkewMs: ingest.maxFutureSkewMs },
      maxInflightFrames: ws.maxInflightFrames,
      badFrameLimit: ws.badFrameLimit,
      badFrameWindowMs: ws.badFrameWindowMs,
      highWaterBytes: ws.socketHighWaterBytes,
      retryAfterSeconds: ingest.retryAfterSeconds,
      durable,
      retentionDays: storage.retentionDays
    })

    const wss = new WebSocketServer({ noServer: true, maxPayload: ws.maxFrameBytes, perMessageDeflate: false, clientTracking: false, handleProtocols: selectProtocol })
    const connections = new Set<DeviceConnection>()
    const perIp = new ConnectionsPerIp()
    let closing = false

    server.route(DEVICES_PATH, authenticatedUpgrade(auth, run, "devices", "ingest", ingest.retryAfterSeconds, (request, socket, head, principal) => {
      const admission: Admission = {
        endpoint: "devices",
        closing,
        open: connections.size,
        limit: ws.maxDeviceConnections,
        setting: "WS_MAX_DEVICE_CONNECTIONS",
        openFromIp: perIp.count(clientAddress(request)),
        limitPerIp: ws.maxDeviceConnectionsPerIp,
        settingPerIp: "WS_MAX_DEVICE_CONNECTIONS_PER_IP",
        retryAfterSeconds: ingest.retryAfterSeconds
      }
      if (!admitUpgrade(socket, admission)) return
      const ack = queryOf(request).get("ack") ?? ingest.defaultAck
      if (ack !== "durable" && ack !== "accepted") {
        wsRejected("devices", "bad_request").inc()
        refuseUpgrade(socket, 400, "invalid_request", `ack: expected "durable" or "accepted", got ${JSON.stringify(ack)}`)
        return
      }
      wss.handleUpgrade(request, socket, head, (socketOpen) => {
        const connection = new DeviceConnection(socketOpen, socket, coalescers[ack], settingsFor(ack === "durable"), (s) => ingestLatencyWs[ack].observe(s), principal)
        connections.add(connection)
        const ip = clientAddress(request)
        perIp.add(ip)
        wsConnections.devices.inc()
        socketOpen.on("error", (e: Error & { code?: string }) => {
          if (e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") wsRejected("devices", "too_big").inc()
        })
        socketOpen.on("close", () => {
          connections.delete(connection)
          perIp.remove(ip)
          connection.dispose()
          wsConnections.devices.dec()
        })
      })
    }))

    const stopHeartbeat = startHeartbeat(connections, ws.heartbeatMs, (c) => c.pausedByServer(), () => wsRejected("devices", "dead").inc())

    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closing = true
        stopHeartbeat()
        const drained = Array.from(connections, (c) => c.drain())
        coalescers.durable.flush()
        coalescers.accepted.flush()
        await closeAll(drained, Array.from(connections, (c) => c.ws), ws.shutdownTimeoutMs)
        await new Promise<void>((resolve) => wss.close(() => resolve()))
      })
    )
  })
)
