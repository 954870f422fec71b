/**
 * One sensor actor: a plain object (no fiber, timer, promise or closure of its own) holding the
 * sensor's config, core state and alert-rule states, plus what its ShardHost needs to schedule its
 * snapshot and its eviction. It is also the writer's `SnapshotSource`: the snapshot is serialized
 * from it when the writer seals the buffer, so it reflects exactly the rows sealed so far.
 */
import { Option } from "effect"
import { decodeStoredPatch, effectiveConfig } from "../domain/sensor-config.js"
import type { SnapshotSource } from "../storage/write-buffer.js"
import { createSensorCore, replayStored, type SensorCore } from "../core/sensor-core.js"
import { defaultCoreConfig } from "../domain/sensor-settings.js"
import { ruleStatesFromJson, ruleStatesToJson } from "../core/rules.js"
import type { RuleState } from "../core/rule-types.js"
import type { CoreConfig } from "../domain/sensor-settings.js"
import { restoreCore, serializeCore } from "./snapshot.js"

export class SensorActor implements SnapshotSource {
  /** When its snapshot was last handed to the writer; -Infinity while none is stored. */
  lastSnapshotAt: number
  /** State changed since the last snapshot was handed to the writer. */
  dirty = false
  /** Queued on its host's dirty list (so it is listed once). */
  listed = false
  /** Last batch, read or config change: idle sensors are evicted. */
  lastUsedAt: number
  /** Its host's use counter at that moment (tells a use during an eviction apart within one ms). */
  lastUse = 0

  constructor(
    readonly id: string,
    readonly sensorKey: number,
    public cfg: CoreConfig,
    public core: SensorCore,
    /** One per alert rule of `cfg`, index-aligned; saved in the snapshot beside the core. */
    public rules: Array<RuleState>,
    stored: boolean,
    now: number
  ) {
    this.lastSnapshotAt = stored ? now : Number.NEGATIVE_INFINITY
    this.lastUsedAt = now
  }

  snapshot(): { version: number; lastSeen: number; state: object } {
    return serializeCore(this.core, ruleStatesToJson(this.cfg.rules, this.rules))
  }
}

/** What PostgreSQL holds of a sensor when it activates (see storage/sensor-activation.ts). */
export interface StoredSensor {
  readonly id: string
  readonly key: number
  readonly config: unknown
  readonly snapshot: unknown
  readonly tail: { readonly ts: ReadonlyArray<number>; readonly values: ReadonlyArray<number>; readonly quality: ReadonlyArray<number> }
}

export interface Activated {
  readonly actor: SensorActor
  /** The stored snapshot could not be read: the sensor started afresh. */
  readonly unreadable: boolean
  /** Readings committed after the snapshot, replayed into the window. */
  readonly replayed: number
}

/** Builds the actor from its stored row: config, snapshot, then the readings stored after it. */
export const activate = (row: StoredSensor, now: number): Activated => {
  const cfg = effectiveConfig(defaultCoreConfig, Option.getOrElse(decodeStoredPatch(row.config), () => ({})))
  const restored = row.snapshot === null ? null : restoreCore(cfg, row.snapshot, now)
  const core = restored?.core ?? createSensorCore(cfg, now)
  const replayed = replayStored(core, cfg, { ts: row.tail.ts, value: row.tail.values, quality: row.tail.quality, length: row.tail.ts.length })
  const rules = ruleStatesFromJson(cfg.rules, restored?.rules ?? null)
  // A sensor never stored writes its first snapshot with its first batch: until then
  // `sensor_state.last_seen` does not exist, and the offline sweep would see it as silent.
  const actor = new SensorActor(row.id, row.key, cfg, core, rules, row.snapshot !== null, now)
  return { actor, unreadable: restored?.restored === false, replayed }
}
