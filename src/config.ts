/**
 * Every setting of a node, read once with Effect `Config` from the environment and validated at
 * start-up: a bad value stops the node with a message naming the variable and what it accepts.
 * Nothing else in the code reads `process.env`.
 */
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"

const intIn = (name: string, min: number, max: number, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({
      message: `${name} must be an integer from ${min} to ${max}`,
      validation: (n) => n >= min && n <= max
    })
  )

/** An integer from `min` to `max` that may be unset (its default then depends on other settings). */
const optionalIntIn = (name: string, min: number, max: number) =>
  Config.option(
    Config.integer(name).pipe(
      Config.validate({ message: `${name} must be an integer from ${min} to ${max}`, validation: (n) => n >= min && n <= max })
    )
  )

const oneOf = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback: A) =>
  Config.literal(...values)(name).pipe(Config.withDefault(fallback))

const secretOfAtLeast = (name: string, min: number) =>
  Config.option(
    Config.redacted(name).pipe(
      Config.validate({ message: `${name} must be at least ${min} characters`, validation: (r) => Redacted.value(r).length >= min })
    )
  )

export const appConfig = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  port: intIn("PORT", 0, 65535, 8080),
  /** None: start the embedded PostgreSQL under `dataDir`. */
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  dataDir: Config.nonEmptyString("DATA_DIR").pipe(Config.withDefault("./data")),
  dbPoolMax: intIn("DB_POOL_MAX", 4, 200, 12),
  redisUrl: Config.option(Config.redacted("REDIS_URL")),
  writer: Config.all({
    batchSize: intIn("WRITER_BATCH_SIZE", 1, 50_000, 2_000),
    flushIntervalMs: intIn("WRITER_FLUSH_MS", 1, 10_000, 10),
    /** Flushes in flight at once (each holds a pool connection while it commits). */
    concurrency: intIn("WRITER_CONCURRENCY", 1, 16, 2),
    queueRows: intIn("WRITER_QUEUE_ROWS", 100, 10_000_000, 200_000),
    retryMaxDelayMs: intIn("WRITER_RETRY_MAX_MS", 10, 60_000, 2_000),
    drainTimeoutSeconds: intIn("WRITER_DRAIN_TIMEOUT_S", 1, 600, 15),
    /** A flush trying this long without committing (failing or hung) makes /ready answer 503. */
    stallMs: intIn("WRITER_STALL_MS", 100, 600_000, 5_000)
  }),
  ingest: Config.all({
    defaultAck: oneOf("ACK_MODE", ["durable", "accepted"], "durable"),
    ackTimeoutMs: intIn("ACK_TIMEOUT_MS", 100, 300_000, 10_000),
    maxBodyBytes: intIn("MAX_BODY_BYTES", 1_024, 64 * 1024 * 1024, 1024 * 1024),
    maxReadingsPerRequest: intIn("MAX_READINGS_PER_REQUEST", 1, 100_000, 5_000),
    maxFutureSkewMs: intIn("MAX_FUTURE_SKEW_MS", 0, 7 * 86_400_000, 300_000),
    retryAfterSeconds: intIn("RETRY_AFTER_SECONDS", 1, 3_600, 1),
    drainTimeoutMs: intIn("HTTP_DRAIN_TIMEOUT_MS", 0, 600_000, 10_000),
    /** Readings handed to the ingest gateway and not answered yet; past it ingest is refused (503). */
    maxPendingReadings: intIn("INGEST_MAX_PENDING_READINGS", 1, 100_000_000, 100_000),
    /** Send every batch through the cluster, local shards too (tests of the remote path on one node). */
    forceRemote: Config.boolean("INGEST_FORCE_REMOTE").pipe(Config.withDefault(false)),
    /** The longest the edge waits for a sensor message's answer (longer than ackTimeoutMs); past it, 503. */
    sendTimeoutMs: intIn("EDGE_SEND_TIMEOUT_MS", 1_000, 600_000, 15_000)
  }).pipe(
    Config.validate({
      message: "EDGE_SEND_TIMEOUT_MS must be longer than ACK_TIMEOUT_MS (a durable ack may take that long)",
      validation: (i) => i.sendTimeoutMs > i.ackTimeoutMs
    })
  ),
  /** Limits of the HTTP server itself: a client that sends its headers or body too slowly is cut off (408). */
  http: Config.all({
    headersTimeoutMs: intIn("HTTP_HEADERS_TIMEOUT_MS", 100, 600_000, 10_000),
    requestTimeoutMs: intIn("HTTP_REQUEST_TIMEOUT_MS", 100, 3_600_000, 30_000),
    maxHeaderBytes: intIn("HTTP_MAX_HEADER_BYTES", 1_024, 1024 * 1024, 16 * 1024)
  }).pipe(
    Config.validate({
      message: "HTTP_REQUEST_TIMEOUT_MS must be at least HTTP_HEADERS_TIMEOUT_MS (the headers are part of the request)",
      validation: (h) => h.requestTimeoutMs >= h.headersTimeoutMs
    })
  ),
  /** Browser origins allowed to call the API (none by default: CORS closed); writes only with allowWrites. */
  cors: Config.all({
    origins: Config.string("CORS_ORIGINS").pipe(
      Config.withDefault(""),
      Config.map((s) => s.split(",").map((o) => o.trim()).filter((o) => o !== "")),
      Config.validate({
        message: "CORS_ORIGINS must be a comma-separated list of origins like https://dash.example.com (scheme, host, optional port; no path)",
        validation: (os) => os.every((o) => URL.canParse(o) && new URL(o).origin === o)
      })
    ),
    allowWrites: Config.boolean("CORS_ALLOW_WRITES").pipe(Config.withDefault(false))
  }),
  /** Requests per second and burst per client address and per key; 0 turns a limit off. */
  limits: Config.all({
    ipPerSecond: intIn("RATE_LIMIT_IP_PER_SECOND", 0, 10_000_000, 1_000),
    ipBurst: intIn("RATE_LIMIT_IP_BURST", 1, 10_000_000, 2_000),
    keyPerSecond: intIn("RATE_LIMIT_KEY_PER_SECOND", 0, 10_000_000, 500),
    keyBurst: intIn("RATE_LIMIT_KEY_BURST", 1, 10_000_000, 1_000),
    /**
     * With REDIS_URL: how often each node settles what it allowed with the shared budgets (ms);
     * 0 asks Redis on every request instead (exact, one round trip each).
     */
    syncMs: intIn("RATE_LIMIT_SYNC_MS", 0, 60_000, 100)
  }),
  history: Config.all({
    defaultLimit: intIn("HISTORY_DEFAULT_LIMIT", 1, 100_000, 100),
    maxLimit: intIn("HISTORY_MAX_LIMIT", 1, 100_000, 10_000),
    /** Streamed CSV/NDJSON exports running at once per node (each holds a pool connection while it runs). */
    exportMaxConcurrent: intIn("EXPORT_MAX_CONCURRENT", 1, 100, 4)
  }),
  entity: Config.all({
    maxIdleMs: intIn("ENTITY_MAX_IDLE_MS", 1_000, 86_400_000, 120_000),
    /** Past this many sensors in memory, idle ones are evicted sooner (the idle time halves each sweep). */
    maxResidentSensors: intIn("MAX_RESIDENT_SENSORS", 1_000, 100_000_000, 200_000),
    mailboxCapacity: intIn("ENTITY_MAILBOX_CAPACITY", 16, 1_000_000, 4_096),
    snapshotIntervalMs: intIn("SNAPSHOT_INTERVAL_MS", 0, 3_600_000, 30_000)
  }),
  cluster: Config.all({
    shardsPerGroup: intIn("CLUSTER_SHARDS", 1, 10_000, 300),
    simulateRemoteSerialization: Config.boolean("CLUSTER_SIMULATE_SERIALIZATION").pipe(Config.withDefault(false)),
    /** Some: this node is one runner of a multi-node cluster, reachable by the others at this host. */
    runnerHost: Config.option(Config.nonEmptyString("RUNNER_HOST")),
    runnerPort: intIn("RUNNER_PORT", 1, 65535, 34431),
    runnerListenHost: Config.nonEmptyString("RUNNER_LISTEN_HOST").pipe(Config.withDefault("0.0.0.0")),
    lockRefreshMs: intIn("CLUSTER_LOCK_REFRESH_MS", 100, 600_000, 1_000),
    lockExpirationMs: intIn("CLUSTER_LOCK_EXPIRATION_MS", 500, 3_600_000, 4_000),
    refreshAssignmentsMs: intIn("CLUSTER_REFRESH_MS", 100, 600_000, 1_000),
    healthCheckMs: intIn("CLUSTER_HEALTH_CHECK_MS", 100, 600_000, 1_000),
    entityTerminationMs: intIn("CLUSTER_ENTITY_TERMINATION_MS", 100, 600_000, 15_000)
  }),
  storage: Config.all({
    retentionDays: intIn("RETENTION_DAYS", 1, 3_650, 7),
    partitionsAheadDays: intIn("PARTITIONS_AHEAD_DAYS", 1, 60, 3)
  }),
  rollups: Config.all({
    /** Off: flushes write no rollup marks and no node runs the rollup job (the aggregates then stop growing). */
    enabled: Config.boolean("ROLLUPS").pipe(Config.withDefault(true)),
    /** How often a node looks for committed readings whose buckets need recomputing. */
    intervalMs: intIn("ROLLUP_INTERVAL_MS", 50, 3_600_000, 5_000),
    /** Flush marks taken per rollup transaction (each mark is one flush's rows). */
    batchMarks: intIn("ROLLUP_BATCH_MARKS", 1, 10_000, 1_000),
    /** Unset: 30 days, or RETENTION_DAYS if longer (a tier never keeps less than the one below it). */
    minuteRetentionDays: optionalIntIn("ROLLUP_1M_RETENTION_DAYS", 1, 36_500),
    /** Unset: 400 days, or the 1 min tier's if longer. */
    hourRetentionDays: optionalIntIn("ROLLUP_1H_RETENTION_DAYS", 1, 36_500),
    /** Unset: 3,650 days, or the 1 h tier's if longer. */
    dayRetentionDays: optionalIntIn("ROLLUP_1D_RETENTION_DAYS", 1, 36_500)
  }),
  ws: Config.all({
    maxFrameBytes: intIn("WS_MAX_FRAME_BYTES", 1_024, 64 * 1024 * 1024, 1024 * 1024),
    maxInflightFrames: intIn("WS_MAX_INFLIGHT_FRAMES", 1, 100_000, 256),
    maxReadingsPerFrame: intIn("WS_MAX_READINGS_PER_FRAME", 1, 100_000, 5_000),
    badFrameLimit: intIn("WS_BAD_FRAME_LIMIT", 1, 1_000_000, 20),
    badFrameWindowMs: intIn("WS_BAD_FRAME_WINDOW_MS", 100, 3_600_000, 10_000),
    heartbeatMs: intIn("WS_HEARTBEAT_MS", 100, 3_600_000, 30_000),
    socketHighWaterBytes: intIn("WS_SOCKET_HIGH_WATER_BYTES", 1_024, 1024 * 1024 * 1024, 256 * 1024),
    maxDeviceConnections: intIn("WS_MAX_DEVICE_CONNECTIONS", 1, 1_000_000, 20_000),
    /** Device connections from one client address (a gateway's NAT may carry many). */
    maxDeviceConnectionsPerIp: intIn("WS_MAX_DEVICE_CONNECTIONS_PER_IP", 1, 1_000_000, 5_000),
    shutdownTimeoutMs: intIn("WS_SHUTDOWN_TIMEOUT_MS", 0, 600_000, 5_000),
    coalesceWindowMs: intIn("COALESCE_WINDOW_MS", 0, 10_000, 5),
    coalesceMaxReadings: intIn("COALESCE_MAX_READINGS", 1, 100_000, 500)
  }),
  mqtt: Config.all({
    /** The broker the MQTT edge subscribes to (mqtt://host:1883); unset: no MQTT edge. */
    url: Config.option(Config.string("MQTT_URL")),
    username: Config.option(Config.string("MQTT_USERNAME")),
    password: Config.option(Config.redacted("MQTT_PASSWORD")),
    /** Devices publish to <prefix>/<device>/readings and hear back on <prefix>/<device>/acks. */
    topicPrefix: Config.string("MQTT_TOPIC_PREFIX").pipe(
      Config.withDefault("flowmesh"),
      Config.validate({ message: "MQTT_TOPIC_PREFIX: one or more topic levels without wildcards (+ #), e.g. flowmesh or plant-3/flowmesh", validation: (p) => /^[^+#/]+(\/[^+#/]+)*$/.test(p) && !p.includes("\u0000") })
    ),
    /** The shared subscription's group: every node in it splits the devices' messages. */
    shareGroup: Config.string("MQTT_SHARE_GROUP").pipe(
      Config.withDefault("flowmesh"),
      Config.validate({ message: "MQTT_SHARE_GROUP: letters, digits, - and _ only", validation: (g) => /^[A-Za-z0-9_-]{1,64}$/.test(g) })
    ),
    /**
     * Broker connections per node. One keeps a device's messages in the order the broker sent
     * them through this node; more only spread the node's share over several broker sessions.
     */
    connections: intIn("MQTT_CONNECTIONS", 1, 1_024, 1),
    /**
     * Unacknowledged messages the broker may send each connection (MQTT 5 receive maximum): the
     * messages a node holds at once, at most this times MQTT_MAX_PAYLOAD_BYTES per connection.
     */
    receiveMaximum: intIn("MQTT_RECEIVE_MAXIMUM", 1, 65_535, 256),
    maxPayloadBytes: intIn("MQTT_MAX_PAYLOAD_BYTES", 1_024, 256 * 1024 * 1024, 1024 * 1024),
    reconnectMs: intIn("MQTT_RECONNECT_MS", 100, 600_000, 1_000),
    /**
     * The node's broker connections are `<id>-0` ... `<id>-<n-1>`, with sessions the broker keeps
     * for MQTT_SESSION_EXPIRY_SECONDS: a node that restarts under the same id is handed again what
     * it had not acknowledged. Unset: flowmesh-<host name>-<PORT>.
     */
    clientId: Config.option(
      Config.string("MQTT_CLIENT_ID").pipe(
        Config.validate({ message: "MQTT_CLIENT_ID: 1 to 40 letters, digits, - and _", validation: (id) => /^[A-Za-z0-9_-]{1,40}$/.test(id) })
      )
    ),
    sessionExpirySeconds: intIn("MQTT_SESSION_EXPIRY_SECONDS", 0, 4_294_967_295, 300),
    /**
     * With AUTH_MODE=required, how device keys become broker credentials: `dynsec`, the node
     * provisions and revokes them in Mosquitto's dynamic-security plugin; `external`, the operator's
     * broker authenticates devices by other means. Either way the node takes a message only when
     * the topic's key id is an active device key, and only for the key's sensors.
     */
    deviceCredentials: oneOf("MQTT_DEVICE_CREDENTIALS", ["dynsec", "external"], "dynsec"),
    /** How often a node removes broker clients whose key was revoked while the broker was unreachable. */
    reconcileSeconds: intIn("MQTT_RECONCILE_SECONDS", 5, 86_400, 60)
  }),
  live: Config.all({
    intervalMs: intIn("LIVE_INTERVAL_MS", 1, 60_000, 10),
    bufferReadings: intIn("LIVE_BUFFER_READINGS", 10, 10_000_000, 10_000),
    maxSubscriptions: intIn("LIVE_MAX_SUBSCRIPTIONS", 1, 1_000_000, 1_000),
    maxConnections: intIn("LIVE_MAX_CONNECTIONS", 1, 1_000_000, 2_000),
    /** Dashboard connections from one client address. */
    maxConnectionsPerIp: intIn("LIVE_MAX_CONNECTIONS_PER_IP", 1, 1_000_000, 500),
    publishTickMs: intIn("LIVE_PUBLISH_TICK_MS", 1, 10_000, 10),
    interestRefreshMs: intIn("LIVE_INTEREST_REFRESH_MS", 100, 3_600_000, 15_000)
  }),
  alerts: Config.all({
    /** While a rule's condition holds, the sensor sends the notifier an update at most this often. */
    updateIntervalMs: intIn("ALERT_UPDATE_INTERVAL_MS", 100, 3_600_000, 10_000),
    /** After an alert resolves, the same (sensor, rule) does not raise again for this long (a rule may override). */
    cooldownMs: intIn("ALERT_COOLDOWN_MS", 0, 86_400_000, 300_000),
    /** Per notifier, per paging channel (Redis stream, webhooks), notifications per storm window; the rest become one summary. */
    stormPerMinute: intIn("ALERT_STORM_PER_MINUTE", 1, 1_000_000, 30),
    /** The storm window (a minute by default; shorter in tests). */
    stormWindowMs: intIn("ALERT_STORM_WINDOW_MS", 100, 3_600_000, 60_000),
    /** How often the sweeper looks for offline sensors and undelivered outbox rows. */
    sweepMs: intIn("ALERT_SWEEP_MS", 100, 3_600_000, 5_000),
    /** Outbox rows older than this were left by a node that died; the sweeper sends them again. */
    outboxRedeliverMs: intIn("ALERT_OUTBOX_REDELIVER_MS", 100, 3_600_000, 10_000),
    streamKey: Config.nonEmptyString("ALERT_STREAM_KEY").pipe(Config.withDefault("iot:alerts")),
    streamMaxLen: intIn("ALERT_STREAM_MAXLEN", 100, 100_000_000, 100_000),
    notifierMaxIdleMs: intIn("NOTIFIER_MAX_IDLE_MS", 1_000, 86_400_000, 600_000),
    /** Resolved alerts (with their history), storm summaries and dead letters older than this are deleted. */
    retentionDays: intIn("ALERT_RETENTION_DAYS", 1, 3_650, 90)
  }),
  webhooks: Config.all({
    timeoutMs: intIn("WEBHOOK_TIMEOUT_MS", 10, 600_000, 5_000),
    maxAttempts: intIn("WEBHOOK_MAX_ATTEMPTS", 1, 1_000, 8),
    backoffBaseMs: intIn("WEBHOOK_BACKOFF_BASE_MS", 1, 600_000, 500),
    backoffMaxMs: intIn("WEBHOOK_BACKOFF_MAX_MS", 1, 3_600_000, 30_000),
    breakerFailures: intIn("WEBHOOK_BREAKER_FAILURES", 1, 1_000, 5),
    breakerOpenMs: intIn("WEBHOOK_BREAKER_OPEN_MS", 10, 3_600_000, 30_000),
    queueMax: intIn("WEBHOOK_QUEUE_MAX", 1, 1_000_000, 10_000),
    leaseMs: intIn("WEBHOOK_LEASE_MS", 1_000, 3_600_000, 60_000)
  }),
  /** Committed readings forwarded out, best effort: each target has its own bounded queue, and drops are counted. */
  forward: Config.all({
    /** Some: every committed reading is appended to this stream of REDIS_URL's Redis; unset: off. */
    redisStream: Config.option(Config.nonEmptyString("FORWARD_REDIS_STREAM")),
    redisMaxLen: intIn("FORWARD_REDIS_MAXLEN", 1_000, 1_000_000_000, 1_000_000),
    /** On: every committed reading is published to <MQTT_TOPIC_PREFIX>/out/<sensor> on MQTT_URL's broker. */
    mqtt: Config.boolean("FORWARD_MQTT").pipe(Config.withDefault(false)),
    /** The broker keeps each sensor's last value for subscribers that come later. */
    mqttRetain: Config.boolean("FORWARD_MQTT_RETAIN").pipe(Config.withDefault(false)),
    mqttQos: Config.literal(0, 1)("FORWARD_MQTT_QOS").pipe(Config.withDefault(0 as const)),
    /** Readings each target may hold while it is slow or down; past it the oldest are dropped (and counted). */
    queueReadings: intIn("FORWARD_QUEUE_READINGS", 100, 100_000_000, 100_000),
    /** Readings per Redis pipeline or per round of MQTT publishes. */
    batchReadings: intIn("FORWARD_BATCH_READINGS", 1, 100_000, 256),
    /**
     * The most of the node's event loop each target's sender may take (0.01 to 1): it rests after
     * each batch in proportion. Readings beyond what fits wait in the queue, then are dropped and counted.
     */
    maxLoopShare: Config.number("FORWARD_MAX_LOOP_SHARE").pipe(
      Config.withDefault(0.05),
      Config.validate({ message: "FORWARD_MAX_LOOP_SHARE: a share of the event loop from 0.01 to 1", validation: (x) => x >= 0.01 && x <= 1 })
    ),
    /** How long a batch may take (Redis's answer, the broker's PUBACKs); past it its readings count as dropped. */
    sendTimeoutMs: intIn("FORWARD_SEND_TIMEOUT_MS", 100, 600_000, 5_000),
    /** How often a target that is down or failed is tried again (its queue keeps filling meanwhile). */
    retryMs: intIn("FORWARD_RETRY_MS", 10, 600_000, 1_000),
    /** On shutdown, how long the targets may take to send what their queues hold. */
    drainTimeoutMs: intIn("FORWARD_DRAIN_TIMEOUT_MS", 0, 600_000, 2_000)
  }),
  auth: Config.all({
    /** none: every caller is the default tenant's superuser (the embedded two-command start); required: a credential on every non-public endpoint. */
    mode: oneOf("AUTH_MODE", ["none", "required"], "none"),
    /** The server-side secret of key hashes (HMAC-SHA256); without it keys cannot be created or checked. */
    pepper: secretOfAtLeast("AUTH_PEPPER", 32),
    /** A superuser key from configuration, for a fresh install's first tenant and keys. */
    bootstrapAdminKey: secretOfAtLeast("AUTH_BOOTSTRAP_ADMIN_KEY", 32),
    /** How long a key (or token) stays trusted in a node's cache: a revoked key is refused within this on every node. */
    cacheTtlMs: intIn("AUTH_CACHE_TTL_MS", 0, 3_600_000, 10_000),
    cacheMaxEntries: intIn("AUTH_CACHE_MAX_ENTRIES", 1, 10_000_000, 100_000),
    jwtSecret: secretOfAtLeast("JWT_SECRET", 32),
    jwtJwksUrl: Config.option(Config.url("JWT_JWKS_URL").pipe(Config.map((u) => u.toString()))),
    jwtIssuer: Config.option(Config.nonEmptyString("JWT_ISSUER")),
    jwtAudience: Config.option(Config.nonEmptyString("JWT_AUDIENCE")),
    /** Whether /metrics needs a viewer credential in required mode (public by default, for Prometheus on the cluster network). */
    metricsPublic: Config.boolean("METRICS_PUBLIC").pipe(Config.withDefault(true))
  }).pipe(
    Config.validate({
      message: "AUTH_MODE=required needs AUTH_PEPPER (at least 32 characters): keys are stored as HMAC-SHA256(AUTH_PEPPER, key)",
      validation: (a) => a.mode === "none" || a.pepper._tag === "Some"
    })
  ),
  log: Config.all({
    level: oneOf("LOG_LEVEL", ["debug", "info", "warning", "error"], "info"),
    format: oneOf("LOG_FORMAT", ["json", "pretty"], "json")
  })
}).pipe(
  Config.map(({ rollups, ...rest }) => {
    const minuteRetentionDays = Option.getOrElse(rollups.minuteRetentionDays, () => Math.max(30, rest.storage.retentionDays))
    const hourRetentionDays = Option.getOrElse(rollups.hourRetentionDays, () => Math.max(400, minuteRetentionDays))
    const dayRetentionDays = Option.getOrElse(rollups.dayRetentionDays, () => Math.max(3_650, hourRetentionDays))
    return { ...rest, rollups: { ...rollups, minuteRetentionDays, hourRetentionDays, dayRetentionDays } }
  }),
  Config.validate({
    message:
      "MAX_FUTURE_SKEW_MS must be shorter than PARTITIONS_AHEAD_DAYS days less an hour: a reading further ahead would land where no daily partition exists yet (and retention never drops)",
    validation: (c) => c.ingest.maxFutureSkewMs < c.storage.partitionsAheadDays * 86_400_000 - 3_600_000
  }),
  Config.validate({
    message:
      "MQTT_URL with AUTH_MODE=required and MQTT_DEVICE_CREDENTIALS=dynsec: set MQTT_USERNAME and MQTT_PASSWORD to a user of the broker's dynamic-security plugin that may send $CONTROL/dynamic-security commands (the admin `mosquitto_ctrl dynsec init` creates), so the node can provision device keys",
    validation: (c) =>
      Option.isNone(c.mqtt.url) || c.auth.mode === "none" || c.mqtt.deviceCredentials === "external" || (Option.isSome(c.mqtt.username) && Option.isSome(c.mqtt.password))
  }),
  Config.validate({
    message:
      "retention must not shrink from tier to tier: RETENTION_DAYS <= ROLLUP_1M_RETENTION_DAYS <= ROLLUP_1H_RETENTION_DAYS <= ROLLUP_1D_RETENTION_DAYS (a late reading is merged into every tier, so each must still hold its bucket)",
    validation: (c) =>
      c.storage.retentionDays <= c.rollups.minuteRetentionDays &&
      c.rollups.minuteRetentionDays <= c.rollups.hourRetentionDays &&
      c.rollups.hourRetentionDays <= c.rollups.dayRetentionDays
  }),
  Config.validate({
    message: "FORWARD_REDIS_STREAM needs REDIS_URL: readings are forwarded to a stream of the node's Redis (unset FORWARD_REDIS_STREAM to forward nothing)",
    validation: (c) => Option.isNone(c.forward.redisStream) || Option.isSome(c.redisUrl)
  }),
  Config.validate({
    message: "FORWARD_MQTT=on needs MQTT_URL: readings are published to <MQTT_TOPIC_PREFIX>/out/<sensor> on that broker",
    validation: (c) => !c.forward.mqtt || Option.isSome(c.mqtt.url)
  })
)

/** Every setting, as read: its type is the definition's, so a setting is declared once. */
export type AppConfigShape = Config.Config.Success<typeof appConfig>
export type AckMode = AppConfigShape["ingest"]["defaultAck"]
export type LogFormat = AppConfigShape["log"]["format"]

export class AppConfig extends Context.Tag("flowmesh/AppConfig")<AppConfig, AppConfigShape>() {
  static readonly layer = Layer.effect(AppConfig, appConfig)
  static readonly layerWith = (overrides: (c: AppConfigShape) => AppConfigShape) =>
    Layer.effect(AppConfig, Effect.map(appConfig, overrides))
}
