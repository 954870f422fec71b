/**
 * Request bodies for the load generator, built cheaply: each group of sensors owns a pre-built
 * template (every byte of the body except the ts numbers), and a body is the template's static
 * segments interleaved with freshly formatted ts values. A group is leased to one request at a time,
 * so a sensor never has two requests in flight and its ts only ever increase in arrival order.
 */

export interface BodyShape {
  readonly sensors: number
  readonly sensorsPerRequest: number
  readonly readingsPerSensor: number
  readonly stepMs: number
  readonly sensorPrefix: string
}

export interface Lease {
  readonly body: string
  readonly readings: number
  readonly release: () => void
}

interface Group {
  /** `segments[k]` precedes the k-th ts; the last one closes the body. */
  readonly segments: ReadonlyArray<string>
  uses: number
  busy: boolean
}

/** Keeps every ts this far behind the node's clock limit (MAX_FUTURE_SKEW_MS defaults to 300 s). */
const FUTURE_MARGIN_MS = 240_000
/** Readings start this far in the past, leaving room for ~2,000 uses of every group at 1 s each. */
const PAST_START_MS = 30 * 60_000

export const sensorId = (shape: BodyShape, index: number): string => `${shape.sensorPrefix}${String(index).padStart(5, "0")}`

/** A smooth, bounded signal: never a spike against its own window. */
const signalValue = (sensor: number, reading: number): string => String(Math.round((20 + 5 * Math.sin(sensor * 0.7 + reading * 0.3)) * 100) / 100)

const buildGroup = (shape: BodyShape, first: number): Group => {
  const segments: Array<string> = []
  let pending = '{"readings":['
  for (let s = 0; s < shape.sensorsPerRequest; s++) {
    const id = sensorId(shape, first + s)
    for (let r = 0; r < shape.readingsPerSensor; r++) {
      pending += `${s === 0 && r === 0 ? "" : ","}{"sensor":"${id}","ts":`
      segments.push(pending)
      pending = `,"value":${signalValue(first + s, r)}}`
    }
  }
  segments.push(`${pending}]}`)
  return { segments, uses: 0, busy: false }
}

export class BodyPool {
  readonly readingsPerRequest: number
  private readonly groups: ReadonlyArray<Group>
  private readonly base: number
  private cursor = 0
  private readonly tsText: Array<string>

  constructor(
    readonly shape: BodyShape,
    now: number = Date.now()
  ) {
    if (shape.sensors % shape.sensorsPerRequest !== 0) throw new Error("sensors must be a multiple of sensorsPerRequest")
    const groups: Array<Group> = []
    for (let first = 0; first < shape.sensors; first += shape.sensorsPerRequest) groups.push(buildGroup(shape, first))
    this.groups = groups
    this.base = now - PAST_START_MS
    this.readingsPerRequest = shape.sensorsPerRequest * shape.readingsPerSensor
    this.tsText = new Array<string>(shape.readingsPerSensor).fill("")
  }

  /** How many groups (of all `sensors / sensorsPerRequest`) have been sent at least once. */
  groupsUsed(): number {
    let n = 0
    for (const g of this.groups) if (g.uses > 0) n++
    return n
  }

  get groupCount(): number {
    return this.groups.length
  }

  /** The next idle group's body with fresh ts values, or undefined when every group is in flight. */
  acquire(): Lease | undefined {
    const count = this.groups.length
    for (let tries = 0; tries < count; tries++) {
      const group = this.groups[this.cursor]!
      this.cursor = (this.cursor + 1) % count
      if (group.busy) continue
      return this.lease(group)
    }
    return undefined
  }

  private lease(group: Group): Lease {
    const { readingsPerSensor, stepMs } = this.shape
    const first = this.base + group.uses * readingsPerSensor * stepMs
    const last = first + (readingsPerSensor - 1) * stepMs
    if (last > Date.now() + FUTURE_MARGIN_MS) throw new Error("bench sensors ran out of ts room (too many uses of one group)")
    group.uses++
    group.busy = true
    const ts = this.tsText
    for (let r = 0; r < readingsPerSensor; r++) ts[r] = String(first + r * stepMs)
    const { segments } = group
    let body = ""
    const n = segments.length - 1
    for (let k = 0; k < n; k++) body += segments[k]! + ts[k % readingsPerSensor]!
    body += segments[n]!
    return {
      body,
      readings: this.readingsPerRequest,
      release: () => {
        group.busy = false
      }
    }
  }
}
