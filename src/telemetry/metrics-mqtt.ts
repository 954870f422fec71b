/** Metrics of the MQTT edge: its broker connections and the messages they carried. */
import { Counter, Gauge } from "prom-client"
import { atZero, registry } from "./metrics-registry.js"

const mqttMessagesTotal = new Counter({
  name: "flowmesh_mqtt_messages_total",
  help: "MQTT messages taken from the broker, by QoS and how they ended (acked: answered and PUBACKed after the commit, or taken for QoS 0; refused: a bad payload, answered with an error and acked)",
  labelNames: ["qos", "outcome"] as const,
  registers: [registry]
})
export const mqttMessages = atZero({
  qos1Acked: mqttMessagesTotal.labels("1", "acked"),
  qos1Refused: mqttMessagesTotal.labels("1", "refused"),
  qos0Acked: mqttMessagesTotal.labels("0", "acked"),
  qos0Refused: mqttMessagesTotal.labels("0", "refused")
})

export const mqttRetries = new Counter({
  name: "flowmesh_mqtt_retries_total",
  help: "MQTT messages the node could not take yet (overloaded or database down): held unacknowledged and tried again after Retry-After, so they queue at the broker",
  registers: [registry]
})
mqttRetries.inc(0)

export const mqttConnected = new Gauge({
  name: "flowmesh_mqtt_connections",
  help: "Broker connections of this node's MQTT edge that are up (MQTT_CONNECTIONS of them when the broker is reachable)",
  registers: [registry]
})

export const mqttReconnects = new Counter({
  name: "flowmesh_mqtt_reconnects_total",
  help: "Times a broker connection of the MQTT edge was lost and tried again",
  registers: [registry]
})
mqttReconnects.inc(0)

export const mqttReplies = new Counter({
  name: "flowmesh_mqtt_replies_total",
  help: "Verdicts and errors published to devices' reply topics",
  registers: [registry]
})
mqttReplies.inc(0)

const mqttCredentialsTotal = new Counter({
  name: "flowmesh_mqtt_credentials_total",
  help: "Device credentials in the broker's dynamic-security plugin: provisioned when a device key is created, revoked with the key, removed when found without an active key (reconciliation), or failed (the broker did not answer or refused)",
  labelNames: ["action"] as const,
  registers: [registry]
})
export const mqttCredentials = atZero({
  provisioned: mqttCredentialsTotal.labels("provisioned"),
  revoked: mqttCredentialsTotal.labels("revoked"),
  removed: mqttCredentialsTotal.labels("removed"),
  failed: mqttCredentialsTotal.labels("failed")
})

export const mqttHeld = new Gauge({
  name: "flowmesh_mqtt_held_messages",
  help: "MQTT messages in the node, taken and not yet acknowledged (at most MQTT_CONNECTIONS x MQTT_RECEIVE_MAXIMUM)",
  registers: [registry]
})
