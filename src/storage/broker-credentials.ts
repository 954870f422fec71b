/**
 * Device keys as broker credentials: with MQTT_URL, AUTH_MODE=required and
 * MQTT_DEVICE_CREDENTIALS=dynsec, the node keeps Mosquitto's dynamic-security plugin in step with
 * the device keys in PostgreSQL (the commands are in dynsec.ts). A key is provisioned when it is
 * created (the key is not handed out unless the broker took it) and deleted when it is revoked
 * (Mosquitto disconnects the client at once). A deletion the broker missed (it was down) is made
 * by the reconciliation every node runs when it connects and every MQTT_RECONCILE_SECONDS: a
 * broker client named like a key id with no active device key behind it is removed. Whatever the
 * broker does, the MQTT edge checks each message's key id against the database too (within the
 * auth cache TTL), so a revoked key stops publishing in that bound at the latest.
 */
import { Data, Effect, Option, Redacted } from "effect"
import { connect, type MqttClient } from "mqtt"
import { AppConfig } from "../config.js"
import { mqttCredentials } from "../telemetry/metrics.js"
import {
  addNodeRole,
  type Command,
  CONTROL_TOPIC,
  clientsOf,
  hasRole,
  isDeviceClient,
  listClientsCommand,
  NODE_ROLE,
  nodeRoleCommands,
  parseResponses,
  provisionCommands,
  RESPONSE_TOPIC,
  type Response,
  revokeCommands,
  settled
} from "./dynsec.js"
import { KeyRepo } from "./key-repo.js"

export class BrokerUnavailable extends Data.TaggedError("BrokerUnavailable")<{ readonly message: string }> {}

const ANSWER_TIMEOUT_MS = 5_000
const RECONCILE_CHUNK = 1_000

export interface BrokerCredentialsShape {
  /** Whether device keys are provisioned in the broker. */
  readonly enabled: boolean
  /** Makes the key a broker client that may publish its own readings; fails when the broker did not take it. */
  readonly provision: (keyId: string, key: string, name: string) => Effect.Effect<void, BrokerUnavailable>
  /** Removes the key's client (and disconnects it); a failure is left to the reconciliation. */
  readonly revoke: (keyId: string) => Effect.Effect<void>
}

const DISABLED: BrokerCredentialsShape = { enabled: false, provision: () => Effect.void, revoke: () => Effect.void }

export class BrokerCredentials extends Effect.Service<BrokerCredentials>()("flowmesh/BrokerCredentials", {
  scoped: Effect.gen(function* () {
    const { mqtt, auth } = yield* AppConfig
    if (Option.isNone(mqtt.url) || auth.mode !== "required" || mqtt.deviceCredentials !== "dynsec") return DISABLED
    const url = mqtt.url.value
    const repo = yield* KeyRepo
    const username = Option.getOrNull(mqtt.username)
    const prefix = mqtt.topicPrefix
    const pending = new Map<string, (answers: ReadonlyArray<Response>) => void>()
    /** Correlation ids unique to this node, so that no answer is ever taken for another's. */
    const node = `${process.pid.toString(36)}${Date.now().toString(36)}`
    let seq = 0

    const client: MqttClient = connect(url, {
      protocolVersion: 5,
      clientId: `flowmesh-admin-${process.pid.toString(36)}${Date.now().toString(36)}`,
      clean: true,
      reconnectPeriod: mqtt.reconnectMs,
      connectTimeout: 10_000,
      ...(username === null ? {} : { username }),
      ...(Option.isSome(mqtt.password) ? { password: Redacted.value(mqtt.password.value) } : {})
    })
    client.on("message", (topic, payload) => {
      if (topic !== RESPONSE_TOPIC) return
      const answers = parseResponses(payload.toString("utf8"))
      const id = answers?.[0]?.correlationData
      if (answers === null || id === undefined) return
      pending.get(id)?.(answers)
      pending.delete(id)
    })
    client.on("error", () => {}) // ends in "close" and a reconnect; commands meanwhile fail as BrokerUnavailable

    /** Sends commands in one message and waits for their answers (one response message per command message). */
    const send = (commands: ReadonlyArray<Command>) =>
      Effect.async<ReadonlyArray<Response>, BrokerUnavailable>((resume) => {
        if (!client.connected) return resume(Effect.fail(new BrokerUnavailable({ message: "the MQTT broker is not connected" })))
        const id = `${node}-${++seq}`
        const timer = setTimeout(() => {
          pending.delete(id)
          resume(Effect.fail(new BrokerUnavailable({ message: `the MQTT broker did not answer ${commands[0]?.command} within ${ANSWER_TIMEOUT_MS} ms` })))
        }, ANSWER_TIMEOUT_MS)
        pending.set(id, (answers) => {
          clearTimeout(timer)
          resume(Effect.succeed(answers))
        })
        client.publish(CONTROL_TOPIC, JSON.stringify({ commands: commands.map((c) => ({ ...c, correlationData: id })) }), { qos: 1 })
        return Effect.sync(() => {
          clearTimeout(timer)
          pending.delete(id)
        })
      })

    /** The answers, or a failure unless every command's answer leaves the broker as asked. */
    const apply = (commands: ReadonlyArray<Command>) =>
      Effect.flatMap(send(commands), (answers) => {
        const refused = answers.find((a) => !settled(a))
        return refused === undefined ? Effect.succeed(answers) : Effect.fail(new BrokerUnavailable({ message: `the MQTT broker refused ${refused.command}: ${refused.error}` }))
      })

    const grantNodeRole = Effect.gen(function* () {
      if (username === null) return
      const answers = yield* apply(nodeRoleCommands(prefix, username))
      if (hasRole(answers[answers.length - 1]!, NODE_ROLE)) return
      // Mosquitto disconnects every session of a user whose roles change, this one included, before it
      // answers: the grant is sent without waiting, and the next connection's look at the roles confirms it.
      client.publish(CONTROL_TOPIC, JSON.stringify({ commands: [addNodeRole(username)] }), { qos: 1 })
      yield* Effect.logInfo("MQTT: granted the node's broker user the flowmesh-node role; the broker reconnects its sessions", { username })
    })

    /** Removes broker clients named like key ids that have no active device key behind them. */
    const reconcile = Effect.gen(function* () {
      const listed = clientsOf((yield* send([listClientsCommand]))[0]!).filter(isDeviceClient)
      for (let i = 0; i < listed.length; i += RECONCILE_CHUNK) {
        const chunk = listed.slice(i, i + RECONCILE_CHUNK)
        const active = yield* repo.activeDeviceIds(chunk)
        const stale = chunk.filter((id) => !active.has(id))
        if (stale.length === 0) continue
        yield* apply(stale.flatMap(revokeCommands))
        mqttCredentials.removed.inc(stale.length)
        yield* Effect.logInfo("MQTT device credentials removed: their keys are revoked", { keys: stale.length })
      }
    })

    const tidy = Effect.all([grantNodeRole, reconcile], { discard: true }).pipe(
      Effect.catchAll((e) => Effect.logWarning("MQTT dynamic-security reconciliation failed; will retry", { error: "message" in e ? e.message : String(e) }))
    )
    const runTidy = () => Effect.runFork(tidy)
    client.on("connect", () => {
      client.subscribe(RESPONSE_TOPIC, { qos: 1 }, (error) => {
        if (error === null || error === undefined) runTidy()
        else Effect.runFork(Effect.logWarning("MQTT dynamic-security responses refused: is MQTT_USERNAME a dynamic-security admin?", { error: error.message }))
      })
    })
    const every = setInterval(() => {
      if (client.connected) runTidy()
    }, mqtt.reconcileSeconds * 1000)
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        clearInterval(every)
        await client.endAsync(true).catch(() => undefined)
      })
    )

    return {
      enabled: true,
      provision: (keyId, key, name) =>
        apply(provisionCommands(prefix, keyId, key, name)).pipe(
          Effect.andThen(() => mqttCredentials.provisioned.inc()),
          Effect.tapError(() => Effect.sync(() => mqttCredentials.failed.inc()))
        ),
      revoke: (keyId) =>
        apply(revokeCommands(keyId)).pipe(
          Effect.andThen(() => mqttCredentials.revoked.inc()),
          Effect.catchAll((e) =>
            Effect.andThen(
              Effect.sync(() => mqttCredentials.failed.inc()),
              Effect.logWarning("MQTT device credentials not revoked now; the reconciliation will", { key: keyId, error: e.message })
            )
          )
        )
    } satisfies BrokerCredentialsShape
  }),
  dependencies: [KeyRepo.Default]
}) {}
