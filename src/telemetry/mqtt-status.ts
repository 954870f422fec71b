/** What `/ready` shows of the MQTT edge (src/mqtt): how many broker connections are up, or null when there is no MQTT edge. */
import { Effect } from "effect"

export class MqttStatus extends Effect.Service<MqttStatus>()("flowmesh/MqttStatus", {
  succeed: { connected: (): number | null => null }
}) {}
