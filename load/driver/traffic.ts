/**
 * The readings a scenario sends: the same id space and value model as the k6 scripts
 * (`load/lib`), with timestamps that strictly increase per sensor however fast the arrivals come.
 */
import { readingsBody } from "../lib/bodies.js"
import { createValueModel, sensorId } from "../lib/sensors.js"

export interface Reading {
  readonly sensor: string
  readonly ts: number
  readonly value: number
}

export class Traffic {
  private readonly model: ReturnType<typeof createValueModel>
  private readonly lastTs: Float64Array
  private readonly ids: Array<string>

  constructor(
    readonly sensors: number,
    sites: number,
    prefix: string,
    seed: number
  ) {
    this.model = createValueModel(seed)
    this.lastTs = new Float64Array(sensors)
    this.ids = Array.from({ length: sensors }, (_, i) => `${prefix}${sensorId(i, sites)}`)
  }

  id(index: number): string {
    return this.ids[index % this.sensors]!
  }

  /** One reading of sensor `index`, stamped `at` (default now) or 1 ms after its previous one. */
  reading(index: number, at: number = Date.now()): Reading {
    const i = index % this.sensors
    const ts = Math.max(at, this.lastTs[i]! + 1)
    this.lastTs[i] = ts
    return { sensor: this.ids[i]!, ts, value: this.model.next(i, ts) }
  }

  /**
   * A request's readings: the sensors of group `group` (`sensorsPerRequest` consecutive sensors),
   * `perSensor` readings each (consecutive milliseconds ending now), `count` readings in all: a
   * gateway forwarding its sensors' latest samples.
   */
  batch(group: number, count: number, perSensor: number): string {
    const readings: Array<Reading> = []
    const now = Date.now()
    let sensor = group * Math.ceil(count / perSensor)
    while (readings.length < count) {
      const n = Math.min(perSensor, count - readings.length)
      for (let k = 0; k < n; k++) readings.push(this.reading(sensor, now - (n - 1 - k)))
      sensor++
    }
    return readingsBody(readings)
  }
}

/**
 * Sensor groups a request may use, each leased until its answer is in: a sensor never has two
 * requests in flight (their readings could reach its actor out of order and be rejected as such,
 * which no real gateway does). A FIFO, so the groups take turns.
 */
export class GroupLeases {
  private readonly free: Array<number>
  private head = 0

  constructor(groups: number) {
    this.free = Array.from({ length: Math.max(1, groups) }, (_, g) => g)
  }

  /** A free group, or null when every group has a request in flight. */
  lease(): number | null {
    if (this.head >= this.free.length) return null
    const g = this.free[this.head++]!
    if (this.head > 1024 && this.head * 2 > this.free.length) {
      this.free.splice(0, this.head)
      this.head = 0
    }
    return g
  }

  release(group: number): void {
    this.free.push(group)
  }
}
