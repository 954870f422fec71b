/**
 * What a ShardHost talks to (its ports: the node's writer, live feed, sensor loading, clock) and
 * what it answers a batch with (a BatchSink's decided or failed). Types only, shared by the host,
 * the node's LocalHosts, the ingest gateway's calls and the tests' in-memory ports.
 */
import type { SensorAlertEvent } from "../domain/alert-event.js"
import type { StatusTransition } from "../domain/reasons.js"
import type { SnapshotSource } from "../storage/write-buffer.js"
import type { Activated, StoredSensor } from "./sensor-actor.js"

export interface HostWriter<T> {
  readonly hasRoom: (rows: number) => boolean
  readonly push: (sensorKey: number, ts: number, value: number, quality: number, sensor: string) => void
  readonly rowCursor: () => number
  readonly commitPoint: (source: SnapshotSource | null) => T
  /** The ticket of the newest pending buffer: everything handed over so far. */
  readonly barrier: () => T
  readonly pushAlert: (notifier: string, event: SensorAlertEvent) => void
  /** Calls back once the ticket's buffer committed (true) or failed to (false). */
  readonly whenCommitted: (ticket: T, done: (committed: boolean) => void) => void
}

export interface HostPorts<T> {
  readonly writer: HostWriter<T>
  readonly publishReadings: (sensor: string, ts: ReadonlyArray<number>, values: ReadonlyArray<number>, codes: Int32Array, receivedAt: number) => void
  readonly onTransitions: (sensor: string, transitions: ReadonlyArray<StatusTransition>) => void
  readonly onActivated: (activated: Activated) => void
  /** Loads these sensors (registering new ones); `error` fails them all. */
  readonly load: (ids: ReadonlyArray<string>, done: (rows: ReadonlyMap<string, StoredSensor>, error: string | null) => void) => void
  readonly notifierOf: (sensor: string) => string
  readonly now: () => number
  /** Runs `f` once the current turn's work is done (setImmediate): first contacts of a turn load together. */
  readonly defer: (f: () => void) => void
  readonly snapshotIntervalMs: number
  readonly alertUpdateIntervalMs: number
  /** How long a sensor may stay idle in memory: ENTITY_MAX_IDLE_MS, shorter while the node is over MAX_RESIDENT_SENSORS. */
  readonly idleMs: () => number
}

export type HostFailure =
  /** The writer is full: nothing of the batch was taken. */
  | { readonly _tag: "Busy" }
  /** The sensor could not load its state, or its step failed (it reloads on the next batch). */
  | { readonly _tag: "Unavailable"; readonly message: string }
  /** This host is closed (its shard left the node): nothing was taken; send it to the new owner. */
  | { readonly _tag: "Moved" }

export const BUSY: HostFailure = Object.freeze({ _tag: "Busy" })
export const MOVED: HostFailure = Object.freeze({ _tag: "Moved" })

/** Where a batch's answer goes; `slot` is the caller's own index for the batch. */
export interface BatchSink<T> {
  /** Decided: `codes[i]` answers reading i; `ticket` is the commit to wait for (null: nothing to wait for). */
  readonly decided: (slot: number, codes: Int32Array, ticket: T | null, firstRow: number) => void
  readonly failed: (slot: number, failure: HostFailure) => void
  /** Where the batch's codes go (the sink's own storage); without it the host allocates them. */
  readonly codesFor?: (slot: number, n: number) => Int32Array
}
