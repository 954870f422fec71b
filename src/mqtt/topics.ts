/**
 * The MQTT edge's topics, as plain functions: devices publish readings to
 * `<prefix>/<device>/readings` and hear their verdicts on `<prefix>/<device>/acks`, unless their
 * message names an MQTT 5 response topic. Nodes take the readings through one shared subscription,
 * `$share/<group>/<prefix>/+/readings`, so that the broker splits the devices' messages between them.
 */

/** The filter every node subscribes with. */
export const readingsFilter = (prefix: string, group: string): string => `$share/${group}/${prefix}/+/readings`

/** Where forwarded readings go (`<prefix>/out/<sensor>`): `out` is no device, so a sensor named `readings` never comes back in. */
export const OUT_LEVEL = "out"

/** The device a readings topic names, or null for any other topic. */
export const deviceOf = (prefix: string, topic: string): string | null => {
  if (!topic.startsWith(`${prefix}/`) || !topic.endsWith("/readings")) return null
  const device = topic.slice(prefix.length + 1, topic.length - "/readings".length)
  return device.length > 0 && !device.includes("/") && device !== OUT_LEVEL ? device : null
}

/** Where a device hears back by convention. */
export const acksTopic = (prefix: string, device: string): string => `${prefix}/${device}/acks`

/**
 * A response topic a device may name: a topic under its own `<prefix>/<device>/` (where its broker
 * ACL lets it listen, and where no other device's answers or anyone's forwarded readings are), with
 * no wildcards, and not its readings topic. Any other is ignored for the acks topic: a device must
 * not make the node publish where the device itself may not.
 */
export const isReplyTopic = (prefix: string, device: string, topic: string): boolean =>
  topic.length <= 65_535 &&
  topic.startsWith(`${prefix}/${device}/`) &&
  topic.length > prefix.length + device.length + 2 &&
  !/[+#]/.test(topic) &&
  !topic.includes("\u0000") &&
  deviceOf(prefix, topic) === null
