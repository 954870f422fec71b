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
import { ShardHostEntityLive } from "./actors/host-entity.js"
import { LocalHosts } from "./actors/local-hosts.js"
import { AppConfig, type AppConfigShape } from "./config.js"
import { AggregatesHandlersLive } from "./http/aggregates-handlers.js"
import { ExportGate } from "./http/export-response.js"
import { ReportsHandlersLive } from "./http/reports-handlers.js"
import { AlertsHandlersLive } from "./http/alerts-handlers.js"
import { FlowmeshApi } from "./http/api.js"
import { Authenticator } from "./http/auth/authenticator.js"
import { RateLimiter } from "./http/limits/rate-limiter.js"
import { KeysHandlersLive, MeHandlersLive, TenantsHandlersLive } from "./http/keys-handlers.js"
import { IngestGateway } from "./ingest/gateway.js"
import { batchingPerTurn } from "./ingest/turn-batch.js"
import { WebhooksHandlersLive } from "./http/webhooks-handlers.js"
import { edgeMiddleware } from "./http/edge-middleware.js"
import { IngestHandlersLive } from "./http/ingest-handlers.js"
import { IngestLaneLive } from "./http/ingest-lane.js"
import { SensorsHandlersLive } from "./http/sensors-handlers.js"
import { SystemHandlersLive } from "./http/system-handlers.js"
import { MqttEdgeLive, MqttIngest } from "./mqtt/mqtt-edge.js"
import { makeIngestFlow } from "./http/ingest-flow.js"
import { makeTopicIngest } from "./http/device-topic-ingest.js"
import { DevicesEndpointLive } from "./http/ws/devices-endpoint.js"
import { EdgeServer } from "./http/ws/edge-server.js"
import { LiveEndpointLive } from "./http/ws/live-endpoint.js"
import { ForwardLive } from "./forward/forwarder.js"
import { LiveFeed } from "./live/live-feed.js"
import { AlertRepo } from "./storage/alert-repo.js"
import { AlertStore } from "./storage/alert-store.js"
import { BrokerCredentials } from "./storage/broker-credentials.js"
import { DatabaseLive } from "./storage/database.js"
import { HistoryRepo } from "./storage/history-repo.js"
import { AggregateRepo } from "./storage/aggregate-repo.js"
import { ReportRepo } from "./storage/report-repo.js"
import { KeyRepo } from "./storage/key-repo.js"
import { OfflineRepo } from "./storage/offline-repo.js"
import { PartitionMaintenanceLive } from "./storage/partitions.js"
import { RollupJobLive } from "./storage/rollup-job.js"
import { RedisConnection } from "./storage/redis.js"
import { SensorActivation } from "./storage/sensor-activation.js"
import { SensorRepo } from "./storage/sensor-repo.js"
import { ReleaseStartupLock } from "./storage/startup-lock.js"
import { WebhookRepo } from "./storage/webhook-repo.js"
import { Writer } from "./storage/writer.js"
import { LoggingLive } from "./telemetry/logging.js"
import { WebDashboardLive } from "./ui/web-dashboard.js"

const StorageLive = Layer.mergeAll(
  Writer.Default,
  AlertRepo.Default,
  OfflineRepo.Default,
  WebhookRepo.Default,
  KeyRepo.Default,
  SensorRepo.Default,
  SensorActivation.Default,
  HistoryRepo.Default,
  AggregateRepo.Default,
  ReportRepo.Default,
  RedisConnection.Default,
  BrokerCredentials.Default,
  PartitionMaintenanceLive,
  RollupJobLive
)

/**
 * Notifier actors, the relay from the writer's outbox to them, the cluster's one sweeper, and the
 * channels they deliver to (the webhook dispatcher is also used by the API's replay).
 */
const AlertingLive = Layer.mergeAll(NotifierEntityLive, AlertSweeperLive).pipe(
  Layer.provideMerge(AlertRelay.Default),
  Layer.provide(Layer.mergeAll(AlertStream.Default, AlertStore.Default)),
  Layer.provideMerge(WebhookDispatcher.Default)
)

/** The start-up lock is released once the cluster's tables exist (see storage/startup-lock.ts). */
const ActorsLive = Layer.mergeAll(ShardHostEntityLive, AlertingLive).pipe(
  Layer.provideMerge(LocalHosts.Default),
  Layer.provideMerge(LiveFeed.Default),
  Layer.provideMerge(ReleaseStartupLock.pipe(Layer.provideMerge(ClusterLive)))
)

/**
 * CORS stays closed (no headers) unless CORS_ORIGINS names origins; they may then read, and write
 * only with CORS_ALLOW_WRITES. Preflights are answered by the middleware before any route.
 */
const corsFor = ({ origins, allowWrites }: AppConfigShape["cors"]) =>
  origins.length === 0
    ? Layer.empty
    : HttpApiBuilder.middlewareCors({
        allowedOrigins: origins,
        allowedMethods: allowWrites ? ["GET", "HEAD", "POST", "PUT", "DELETE"] : ["GET", "HEAD"],
        allowedHeaders: ["authorization", "content-type", "x-api-key", "x-device-key"],
        exposedHeaders: ["retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"],
        maxAge: 600
      })

/** MQTT messages go through the HTTP edge's ingest flow: the same decoding, gateway and verdicts. */
const MqttIngestLive = Layer.effect(
  MqttIngest,
  Effect.gen(function* () {
    const { ingest, storage } = yield* AppConfig
    // A turn's messages reach the gateway as one call: one reading per message costs one call per turn, not per message.
    const flow = makeIngestFlow(ingest, batchingPerTurn(yield* IngestGateway), storage.retentionDays, "mqtt")
    const take = makeTopicIngest(flow, yield* Authenticator, ingest.retryAfterSeconds)
    return { take: (text, device, durable, receivedAt, done) => take(text, device, durable, receivedAt, (a) => done(a.status, a.body)) }
  })
)

const ApiLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ ingest, cors }) =>
    HttpApiBuilder.api(FlowmeshApi).pipe(
      Layer.provide([
        corsFor(cors),
        IngestHandlersLive,
        SensorsHandlersLive,
        AlertsHandlersLive,
        AggregatesHandlersLive,
        ReportsHandlersLive,
        WebhooksHandlersLive,
        KeysHandlersLive,
        TenantsHandlersLive,
        MeHandlersLive,
        SystemHandlersLive,
        edgeMiddleware(ingest.retryAfterSeconds)
      ]),
      Layer.provide(ExportGate.Default),
      // Its status is on /ready; it stops taking messages before the HTTP server and the actors stop.
      Layer.provide(MqttEdgeLive.pipe(Layer.provide(MqttIngestLive)))
    )
  )
)

const HttpLive = Layer.unwrapEffect(
  Effect.map(Effect.all([AppConfig, EdgeServer]), ([{ host, port }, { server }]) =>
    HttpApiBuilder.serve().pipe(
      HttpServer.withLogAddress,
      Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
      Layer.provide(WebDashboardLive),
      Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
      Layer.provide(ApiLive),
      Layer.provideMerge(NodeHttpServer.layer(() => server, { port, host }))
    )
  )
)

/** The WebSocket endpoints close (answering what they owe) before the HTTP server and the actors stop. */
const EdgeLive = Layer.mergeAll(DevicesEndpointLive, LiveEndpointLive, IngestLaneLive).pipe(
  Layer.provideMerge(HttpLive),
  Layer.provide([EdgeServer.Default, IngestGateway.Default, Authenticator.Default, RateLimiter.Default])
)

/**
 * A whole node; `AppConfig` and logging are provided by the caller (main or a test). Spans are off:
 * nothing exports them yet, and the cluster opens several per message (measured: tracing on halves
 * the local message rate).
 */
export const NodeLive = EdgeLive.pipe(
  Layer.provide(ActorsLive),
  // Readings out: started after the writer, stopped after the edges and actors (their last readings go out).
  Layer.provide(ForwardLive),
  Layer.provide(StorageLive),
  Layer.provideMerge(DatabaseLive),
  Layer.provide(Layer.setTracerEnabled(false))
)

/** Says when the node is up and when it has stopped (after the writer drained), and warns when it is open to anyone. */
const LifecycleLog = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { auth } = yield* AppConfig
    if (auth.mode === "none") {
      yield* Effect.logWarning(
        "AUTH_MODE=none: anyone who can reach this port can write any sensor and watch every feed. Set AUTH_MODE=required (with AUTH_PEPPER and AUTH_BOOTSTRAP_ADMIN_KEY) before exposing the node"
      )
    }
    yield* Effect.acquireRelease(Effect.logInfo("flowmesh node ready", { authMode: auth.mode }), () => Effect.logInfo("flowmesh node stopping"))
  })
)

export const MainLive = Layer.provideMerge(LifecycleLog, NodeLive).pipe(
  Layer.provide(LoggingLive),
  Layer.provide(AppConfig.layer)
)
