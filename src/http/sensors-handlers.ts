/** Sensor registry, config and history: PostgreSQL is the source of truth, actors hold live state. */
import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect, Option, ParseResult, Schema } from "effect"
import { defaultCoreConfig } from "../domain/sensor-settings.js"
import { describeCode } from "../actors/protocol.js"
import { AppConfig } from "../config.js"
import { MAX_EPOCH_MS, MIN_EPOCH_MS } from "../domain/epoch-range.js"
import { decodeStoredPatch, effectiveConfig, type SensorConfigPatch } from "../domain/sensor-config.js"
import { SensorId } from "../domain/sensor-id.js"
import { externalId, internalId } from "../domain/tenancy.js"
import { IngestGateway } from "../ingest/gateway.js"
import { HistoryRepo } from "../storage/history-repo.js"
import { SensorRepo, type SensorRow } from "../storage/sensor-repo.js"
import { FlowmeshApi, isListedStatus, type ListedStatus } from "./api.js"
import { currentTenant } from "./auth/principal.js"
import { InvalidRequest, SensorNotFound, ServiceUnavailable } from "./errors.js"
import { encodeRows, ExportGate, exportFileName, exportFormat } from "./export-response.js"

const unavailable = () => new ServiceUnavailable({ message: "database or sensor actor unavailable; retry later" })
const notFound = (id: string) => new SensorNotFound({ message: `sensor ${JSON.stringify(id)} does not exist` })

const validId = (id: string) =>
  Schema.decodeUnknown(SensorId)(id).pipe(
    Effect.mapError(
      (e) => new InvalidRequest({ message: `id: ${ParseResult.TreeFormatter.formatErrorSync(e)}` })
    )
  )

const overridesOf = (row: { readonly config: unknown }): SensorConfigPatch => Option.getOrElse(decodeStoredPatch(row.config), () => ({}))

const listedStatus = (status: string): ListedStatus => (isListedStatus(status) ? status : "unknown")

export const SensorsHandlersLive = HttpApiBuilder.group(FlowmeshApi, "sensors", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* SensorRepo
    const history = yield* HistoryRepo
    const gateway = yield* IngestGateway
    const { history: limits } = yield* AppConfig
    const exports = yield* ExportGate

    const view = (row: SensorRow) =>
      gateway
        .state(row.id)
        .pipe(
          Effect.mapError(unavailable),
          Effect.map((state) => {
            const overrides = overridesOf(row)
            return {
              id: externalId(row.id),
              config: effectiveConfig(defaultCoreConfig, overrides),
              overrides,
              createdAt: row.createdAt,
              updatedAt: row.updatedAt,
              state
            }
          })
        )

    /** The caller's sensor `id` (as the caller names it): another tenant's is not found. */
    const existing = (tenant: string, id: string) =>
      repo.find(internalId(tenant, id)).pipe(
        Effect.mapError(unavailable),
        Effect.flatMap((row) => (row === null ? Effect.fail(notFound(id)) : Effect.succeed(row)))
      )

    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const tenant = yield* currentTenant
          const limit = urlParams.limit ?? 100
          const rows = yield* repo
            .listSummaries({
              tenant,
              prefix: internalId(tenant, urlParams.prefix ?? ""),
              after: urlParams.after === undefined ? undefined : internalId(tenant, urlParams.after),
              limit,
              statuses: urlParams.status
            })
            .pipe(Effect.mapError(unavailable))
          const last = rows[rows.length - 1]
          return {
            sensors: rows.map((row) => ({
              id: externalId(row.id),
              status: listedStatus(row.status),
              lastSeen: row.lastSeen,
              lastValue: row.lastValue,
              suspectShare: row.accepted > 0 ? row.suspect / row.accepted : null,
              overrides: overridesOf(row)
            })),
            next: rows.length === limit && last !== undefined ? externalId(last.id) : null
          }
        })
      )
      .handle("get", ({ path }) => Effect.flatMap(currentTenant, (tenant) => Effect.flatMap(existing(tenant, path.id), view)))
      .handle("put", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* validId(path.id)
          const id = internalId(yield* currentTenant, path.id)
          yield* repo.putConfig(id, payload).pipe(Effect.mapError(unavailable))
          const config = effectiveConfig(defaultCoreConfig, payload)
          yield* gateway.configure(id, config).pipe(Effect.mapError(unavailable))
          const row = yield* repo.find(id).pipe(Effect.mapError(unavailable))
          if (row === null) return yield* Effect.fail(unavailable())
          return yield* view(row)
        })
      )
      .handle("delete", ({ path }) =>
        Effect.gen(function* () {
          const id = internalId(yield* currentTenant, path.id)
          const removed = yield* repo.remove(id).pipe(Effect.mapError(unavailable))
          if (!removed) return yield* Effect.fail(notFound(path.id))
          yield* gateway.forget(id).pipe(Effect.mapError(unavailable))
        })
      )
      .handle("history", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const tenant = yield* currentTenant
          yield* existing(tenant, path.id)
          const from = urlParams.from ?? MIN_EPOCH_MS
          const to = urlParams.to ?? MAX_EPOCH_MS
          const limit = Math.min(urlParams.limit ?? limits.defaultLimit, limits.maxLimit)
          if (from >= to) return yield* Effect.fail(new InvalidRequest({ message: "from: must be less than to" }))
          const request = yield* HttpServerRequest.HttpServerRequest
          const format = exportFormat(urlParams.format, request.headers.accept)
          if (format !== null) {
            const columns = {
              header: ["sensor", "ts", "time", "value", "quality", "reasons"],
              values: (r: { readonly ts: number; readonly value: number; readonly quality: number }) => {
                const d = describeCode(r.quality)
                return [path.id, r.ts, new Date(r.ts).toISOString(), r.value, r.quality === 0 ? "good" : "suspect", d._tag === "Suspect" ? d.reasons.join(" ") : ""]
              }
            }
            const rows = history.stream(internalId(tenant, path.id), from, to)
            return yield* exports.respond(encodeRows(rows, columns, format), format, exportFileName([path.id, "readings", from, to === MAX_EPOCH_MS ? "now" : to], format))
          }
          const rows = yield* history.range(internalId(tenant, path.id), from, to, limit).pipe(Effect.mapError(unavailable))
          const last = rows[rows.length - 1]
          const next =
            rows.length === limit && last !== undefined
              ? // Whole ms, as the parameter takes them (a reading stored with a fraction before ts was cut to the ms may then repeat).
                `/api/v1/sensors/${encodeURIComponent(path.id)}/readings?from=${from}&to=${Math.ceil(last.ts)}&limit=${limit}`
              : null
          return {
            sensor: path.id,
            readings: rows.map((r) => {
              const d = describeCode(r.quality)
              return {
                ts: r.ts,
                value: r.value,
                quality: r.quality === 0 ? ("good" as const) : ("suspect" as const),
                reasons: d._tag === "Suspect" ? d.reasons : []
              }
            }),
            next
          }
        })
      )
  })
)
