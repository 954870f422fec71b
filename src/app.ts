/**
 * The composition root: every layer of a node wired in one place. Embedded or external PostgreSQL
 * is decided inside `DatabaseLive`; one node or many is the cluster layer's choice.
 */
import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AlertRelay } from "./actors/alert-relay.js"
import { AlertSweeperLive } from "./actors/alert-sweeper.js"
import { ClusterLive } from "./actors/cluster.js"
import { NotifierEntityLive } from "./actors/notifier-entity.js"
import { AlertStream } from "./alerts/alert-stream.js"
import { WebhookDispatcher } from "./alerts/webhooks/dispatcher.js"
import { SensorEntityLive } from "./actors/entity.js"
import { SensorEvents } from "./actors/sensor-events.js"
import { AppConfig } from "./config.js"
import { AlertsHandlersLive } from "./http/alerts-handlers.js"
import { FlowmeshApi } from "./http/api.js"
import { PendingMessages } from "./http/pending-messages.js"
import { WebhooksHandlersLive } from "./http/webhooks-handlers.js"
import { edgeMiddleware } from "./http/edge-middleware.js"
import { IngestHandlersLive } from "./http/ingest-handlers.js"
import { SensorsHandlersLive } from "./http/sensors-handlers.js"
import { SystemHandlersLive } from "./http/system-handlers.js"
import { DevicesEndpointLive } from "./http/ws/devices-endpoint.js"
import { EdgeServer } from "./http/ws/edge-server.js"
import { LiveEndpointLive } from "./http/ws/live-endpoint.js"
import { LiveFeed } from "./live/live-feed.js"
import { AlertRepo } from "./storage/alert-repo.js"
import { DatabaseLive } from "./storage/database.js"
import { HistoryRepo } from "./storage/history-repo.js"
import { OfflineRepo } from "./storage/offline-repo.js"
import { PartitionMaintenanceLive } from "./storage/partitions.js"
import { RedisConnection } from "./storage/redis.js"
import { SensorActivation } from "./storage/sensor-activation.js"
import { SensorRepo } from "./storage/sensor-repo.js"
import { ReleaseStartupLock } from "./storage/startup-lock.js"
import { WebhookRepo } from "./storage/webhook-repo.js"
import { Writer } from "./storage/writer.js"
import { LoggingLive } from "./telemetry/logging.js"

const StorageLive = Layer.mergeAll(
  Writer.Default,
  AlertRepo.Default,
  OfflineRepo.Default,
  WebhookRepo.Default,
  SensorRepo.Default,
  SensorActivation.Default,
  HistoryRepo.Default,
  RedisConnection.Default,
  PartitionMaintenanceLive
)

/**
 * Notifier actors, the relay from the writer's outbox to them, the cluster's one sweeper, and the
 * channels they deliver to (the webhook dispatcher is also used by the API's replay).
 */
const AlertingLive = Layer.mergeAll(NotifierEntityLive, AlertSweeperLive).pipe(
  Layer.provideMerge(AlertRelay.Default),
  Layer.provide(AlertStream.Default),
  Layer.provideMerge(WebhookDispatcher.Default)
)

/** The start-up lock is released once the cluster's tables exist (see storage/startup-lock.ts). */
const ActorsLive = Layer.mergeAll(SensorEntityLive, AlertingLive).pipe(
  Layer.provideMerge(SensorEvents.Default),
  Layer.provideMerge(LiveFeed.Default),
  Layer.provideMerge(ReleaseStartupLock.pipe(Layer.provideMerge(ClusterLive)))
)

const ApiLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ ingest }) =>
    HttpApiBuilder.api(FlowmeshApi).pipe(
      Layer.provide([
        IngestHandlersLive,
        SensorsHandlersLive,
        AlertsHandlersLive,
        WebhooksHandlersLive,
        SystemHandlersLive,
        edgeMiddleware(ingest.retryAfterSeconds)
      ])
    )
  )
)

const HttpLive = Layer.unwrapEffect(
  Effect.map(Effect.all([AppConfig, EdgeServer]), ([{ host, port }, { server }]) =>
    HttpApiBuilder.serve().pipe(
      HttpServer.withLogAddress,
      Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
      Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
      Layer.provide(ApiLive),
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port, host }))
    )
  )
)

/** The WebSocket endpoints close (answering what they owe) before the HTTP server and the actors stop. */
const EdgeLive = Layer.mergeAll(DevicesEndpointLive, LiveEndpointLive).pipe(
  Layer.provideMerge(HttpLive),
  Layer.provide([EdgeServer.Default, PendingMessages.Default])
)

/**
 * A whole node; `AppConfig` and logging are provided by the caller (main or a test). Spans are off:
 * nothing exports them yet, and the cluster opens several per message (measured: tracing on halves
 * the local message rate).
 */
export const NodeLive = EdgeLive.pipe(
  Layer.provide(ActorsLive),
  Layer.provide(StorageLive),
  Layer.provideMerge(DatabaseLive),
  Layer.provide(Layer.setTracerEnabled(false))
)

/** Says when the node is up and when it has stopped (after the writer drained). */
const LifecycleLog = Layer.scopedDiscard(
  Effect.acquireRelease(Effect.logInfo("flowmesh node ready"), () => Effect.logInfo("flowmesh node stopping"))
)

export const MainLive = Layer.provideMerge(LifecycleLog, NodeLive).pipe(
  Layer.provide(LoggingLive),
  Layer.provide(AppConfig.layer)
)
