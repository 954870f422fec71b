/**
 * One device's WebSocket. Each valid frame becomes a ticket whose readings go to the coalescer;
 * the ack leaves when the last of them is answered (acks may overtake each other: `seq` pairs them).
 * Flow control: past `maxInflightFrames` unanswered frames, or while the client is not reading its
 * acks, the socket stops being read, so TCP pushes back on the device instead of the node buffering.
 * Bad frames answer an error frame and the connection stays open, unless they come as a flood.
 */
import { DEFAULT_TENANT, externalId, internalId } from "../../domain/tenancy.js"
import { inScope, type Principal } from "../auth/principal.js"
import type { Writable } from "node:stream"
import { Either } from "effect"
import type { RawData, WebSocket } from "ws"
import { closeVerdicts } from "../../ingest/verdicts.js"
import { readingsCounter, wsFrames, wsPausedConnections, wsRejected } from "../../telemetry/metrics.js"
import type { FieldIssue } from "../errors.js"
import { oldestKeptTs, splitTooOld } from "../../ingest/too-old.js"
import { type Coalescer, type FrameTicket, type InternalGroup, newTicket, refuseGroup, refuseTooOld, type TicketOwner } from "./coalescer.js"
import { decodeDeviceFrame, type FrameLimits } from "./device-frames.js"

export interface DeviceSettings {
  readonly limits: FrameLimits
  readonly maxInflightFrames: number
  readonly badFrameLimit: number
  readonly badFrameWindowMs: number
  /** Unsent bytes (acks the client is not reading) past which the socket stops being read. */
  readonly highWaterBytes: number
  readonly retryAfterSeconds: number
  readonly durable: boolean
  /** Raw retention (RETENTION_DAYS): older readings are answered `too_old`. */
  readonly retentionDays: number
}

const counters = readingsCounter.ws

type ErrorFrame = {
  readonly type: "error"
  readonly seq?: number
  readonly code: string
  readonly message: string
  readonly issues?: ReadonlyArray<FieldIssue>
  readonly retryAfterMs?: number
}

export class DeviceConnection implements TicketOwner {
  inflight = 0
  /** Whether it answered the last ping. */
  alive = true
  private paused: "inflight" | "outbound" | null = null
  private badFrames = 0
  private badWindowStart = 0
  private outboundCheck: NodeJS.Timeout | null = null
  private drained: (() => void) | null = null
  private corked = false
  private readonly uncork = () => {
    this.corked = false
    this.socket.uncork()
  }

  constructor(
    readonly ws: WebSocket,
    /** The TCP socket under `ws`: acks answered in one tick leave in one write. */
    private readonly socket: Writable,
    private readonly coalescer: Coalescer,
    private readonly settings: DeviceSettings,
    private readonly observeLatency: (seconds: number) => void,
    /** Who opened the connection: a device key may write only the sensors in its scope. */
    readonly principal: Principal
  ) {
    ws.on("message", (data, isBinary) => this.onFrame(data, isBinary))
    ws.on("pong", () => {
      this.alive = true
    })
  }

  /** Whether it stopped reading because the node is behind (then a missed pong is not the device's fault). */
  pausedByServer(): boolean {
    return this.paused === "inflight"
  }

  /** Stops reading frames and resolves when every frame already read is answered. */
  drain(): Promise<void> {
    this.ws.pause()
    if (this.inflight === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.drained = resolve
    })
  }

  dispose(): void {
    if (this.paused !== null) wsPausedConnections[this.paused].dec()
    this.paused = null
    if (this.outboundCheck !== null) clearTimeout(this.outboundCheck)
  }

  finish(ticket: FrameTicket): void {
    this.inflight--
    if (ticket.failure !== null) {
      counters.overloaded.inc(ticket.rejected.length + ticket.accepted)
      this.send({ type: "error", seq: ticket.seq, code: ticket.failure.code, message: ticket.failure.message, retryAfterMs: this.settings.retryAfterSeconds * 1000 })
    } else {
      closeVerdicts(ticket, counters)
      const own = this.principal.tenant === DEFAULT_TENANT
      this.send({
        type: "ack",
        seq: ticket.seq,
        accepted: ticket.accepted,
        durable: this.settings.durable || ticket.accepted === 0,
        // The coalescer knows sensors by their ids inside the node; the device knows its own.
        suspect: own ? ticket.suspect : ticket.suspect.map((r) => ({ ...r, sensor: externalId(r.sensor) })),
        rejected: own ? ticket.rejected : ticket.rejected.map((r) => ({ ...r, sensor: externalId(r.sensor) }))
      })
    }
    this.observeLatency((Date.now() - ticket.receivedAt) / 1000)
    if (this.drained !== null && this.inflight === 0) this.drained()
    else this.updateFlow()
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    wsFrames.devices.in.inc()
    if (isBinary) {
      this.badFrame({ type: "error", code: "unsupported_frame", message: "frame: must be text (UTF-8 JSON), not binary" })
      return
    }
    const receivedAt = Date.now()
    const decoded = decodeDeviceFrame(data.toString(), receivedAt, this.settings.limits)
    if (Either.isLeft(decoded)) {
      const p = decoded.left
      this.badFrame({ type: "error", ...(p.seq === null ? {} : { seq: p.seq }), code: p.code, message: p.message, ...(p.issues === undefined ? {} : { issues: p.issues }) })
      return
    }
    const frame = decoded.right
    const ticket = newTicket(this, frame.seq, receivedAt, frame.count)
    this.inflight++
    if (frame.count === 0) {
      this.finish(ticket)
      return
    }
    const { scope, tenant } = this.principal
    const { kept, tooOld } = splitTooOld(frame.groups, oldestKeptTs(receivedAt, this.settings.retentionDays))
    for (const r of tooOld) refuseTooOld(ticket, r.index, r.sensor)
    for (const group of kept) {
      if (scope._tag !== "All" && !inScope(scope, group.sensor)) refuseGroup(ticket, group)
      // A default-tenant id is its internal id as it stands (a sensor id cannot hold the separator).
      else if (tenant === DEFAULT_TENANT) this.coalescer.add(group as unknown as InternalGroup, ticket)
      // The node-wide coalescer merges a sensor's readings from every connection: by the tenant's id.
      else this.coalescer.add({ ...group, sensor: internalId(tenant, group.sensor) }, ticket)
    }
    this.coalescer.endFrame()
    this.updateFlow()
  }

  private badFrame(frame: ErrorFrame): void {
    counters.malformed.inc()
    const now = Date.now()
    if (now - this.badWindowStart > this.settings.badFrameWindowMs) {
      this.badWindowStart = now
      this.badFrames = 0
    }
    this.send(frame)
    this.updateFlow()
    if (++this.badFrames >= this.settings.badFrameLimit) {
      wsRejected("devices", "bad_frames").inc()
      this.ws.close(
        1008,
        `${this.badFrames} bad frames within ${this.settings.badFrameWindowMs} ms (WS_BAD_FRAME_LIMIT)`
      )
    }
  }

  private send(frame: object): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    wsFrames.devices.out.inc()
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(this.uncork)
    }
    this.ws.send(JSON.stringify(frame))
  }

  /** Pauses or resumes reading the socket: bounded frames in flight, bounded unsent acks. */
  private updateFlow(): void {
    if (this.drained !== null) return
    const want =
      this.inflight >= this.settings.maxInflightFrames
        ? "inflight"
        : this.ws.bufferedAmount > this.settings.highWaterBytes
          ? "outbound"
          : null
    if (want === this.paused) return
    if (this.paused !== null) wsPausedConnections[this.paused].dec()
    if (want !== null) wsPausedConnections[want].inc()
    if (want === null) {
      // A pong may have waited in the socket while the node was behind: not the device's fault.
      if (this.paused === "inflight") this.alive = true
      this.ws.resume()
    } else if (this.paused === null) this.ws.pause()
    this.paused = want
    if (want === "outbound" && this.outboundCheck === null) {
      // `ws` has no drain event: look again shortly until the client has read its acks.
      const check = () => {
        this.outboundCheck = null
        this.updateFlow()
        if (this.paused === "outbound") this.outboundCheck = setTimeout(check, 20)
      }
      this.outboundCheck = setTimeout(check, 20)
    }
  }
}
