/**
 * The writer on real PostgreSQL when PostgreSQL refuses part of a flush: the refused rows are
 * isolated and reported, every other row commits, later flushes are not held up, the writer stays
 * healthy; a flush that cannot commit at all (a lock that never comes) makes it unhealthy, and
 * shutting down stays bounded. Plus the decode boundary: whatever the reading decoder accepts, the
 * flush statement stores exactly; and an eviction wave's snapshots go out in bounded statements.
 */
import type { SensorAlertEvent } from "../../src/domain/alert-event.js"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Either, Exit, Layer, Logger, LogLevel, Schedule, Scope } from "effect"
import fc from "fast-check"
import pg from "pg"
import { AppConfig } from "../../src/config.js"
import { decodeReadings } from "../../src/http/ingest-body.js"
import { DatabaseLive } from "../../src/storage/database.js"
import { Writer } from "../../src/storage/writer.js"
import { registry } from "../../src/telemetry/metrics.js"
import { createTestDatabase } from "../support/databases.js"

const SETTINGS = { WRITER_STALL_MS: "300", WRITER_DRAIN_TIMEOUT_S: "1", WRITER_RETRY_MAX_MS: "50", ACK_TIMEOUT_MS: "30000", EDGE_SEND_TIMEOUT_MS: "40000" }

let databaseUrl = ""

const DatabaseForTest = Layer.unwrapScoped(
  Effect.gen(function* () {
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => createTestDatabase("writer_poison")),
      (d) => Effect.promise(() => d.drop())
    )
    databaseUrl = db.url
    const config = AppConfig.layer.pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ DATABASE_URL: db.url, ...SETTINGS })))))
    )
    return DatabaseLive.pipe(Layer.provideMerge(config))
  })
).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)))

const counterValue = async (name: string, labels: Record<string, string>): Promise<number> => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  if (metric === undefined) throw new Error(`metric ${name} is not registered`)
  const value = metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
  if (value === undefined) throw new Error(`metric ${name} has no series ${JSON.stringify(labels)}`)
  return value.value
}

/** A writer of its own, in its own scope, so a test can stop it. */
const withWriter = <A, E>(f: (writer: Writer, scope: Scope.CloseableScope) => Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Writer.Default, scope)
    const writer = Context.get(context, Writer)
    return yield* Effect.ensuring(f(writer, scope), Scope.close(scope, Exit.void))
  })

const sensorKey = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ key: number }>`insert into sensors (id) values (${id}) returning key`, (rows) => rows[0]!.key)
  )

const storedCount = (key: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ n: string }>`select count(*) as n from readings where sensor_key = ${key}`, (rows) => Number(rows[0]?.n))
  )

layer(DatabaseForTest, { excludeTestServices: true, timeout: "90 seconds" })("writer and refused rows", (it) => {
  it.effect("a poison row in a batch of good ones: the good ones commit, the poison row is reported, counted, and the writer stays healthy", () =>
    withWriter((writer) =>
      Effect.gen(function* () {
        const key = yield* sensorKey("poison/a")
        const before = yield* Effect.promise(() => counterValue("flowmesh_writer_unstored_total", { kind: "reading" }))
        const t0 = Date.UTC(2026, 10, 1)
        const first = writer.rowCursor()
        for (let i = 0; i < 10; i++) writer.push(key, i === 6 ? 1e300 : t0 + i, i, 0, "poison/a")
        const ticket = writer.commitPoint(null)
        const flushed = yield* writer.awaitCommit(ticket)
        expect(flushed.unstored).toEqual([first + 6])
        expect(yield* storedCount(key)).toBe(9)
        expect(yield* Effect.promise(() => counterValue("flowmesh_writer_unstored_total", { kind: "reading" }))).toBe(before + 1)
        expect(writer.health().committing).toBe(true)
        // The next batch is not held up by the refused one.
        writer.push(key, t0 + 100, 1, 0, "poison/a")
        const next = yield* writer.awaitCommit(writer.commitPoint(null))
        expect(next.unstored).toEqual([])
        expect(yield* storedCount(key)).toBe(10)
      })
    )
  )

  it.effect("the readings listener hears of a buffer's stored rows once their waiters are answered, never of a refused row", () =>
    withWriter((writer) =>
      Effect.gen(function* () {
        const key = yield* sensorKey("poison/listened")
        const heard: Array<{ sensor: string; ts: number; value: number; quality: number; answered: boolean }> = []
        let ticket: ReturnType<Writer["commitPoint"]> | null = null
        writer.onReadingsCommitted((readings, unstored) => {
          for (let i = 0; i < readings.ts.length; i++) {
            if (unstored.includes(i)) continue
            heard.push({ sensor: readings.sensors[i]!, ts: readings.ts[i]!, value: readings.values[i]!, quality: readings.quality[i]!, answered: ticket?.isDone === true })
          }
        })
        const t0 = Date.UTC(2026, 10, 5)
        for (let i = 0; i < 4; i++) writer.push(key, i === 2 ? 1e300 : t0 + i, i, i === 3 ? 1 : 0, "poison/listened")
        ticket = writer.commitPoint(null)
        const flushed = yield* writer.awaitCommit(ticket)
        expect(flushed.unstored).toHaveLength(1)
        expect(heard).toEqual([
          { sensor: "poison/listened", ts: t0, value: 0, quality: 0, answered: true },
          { sensor: "poison/listened", ts: t0 + 1, value: 1, quality: 0, answered: true },
          { sensor: "poison/listened", ts: t0 + 3, value: 3, quality: 1, answered: true }
        ])
      })
    )
  )

  it.effect("an alert event PostgreSQL refuses is left out and counted; the readings and the other events commit", () =>
    withWriter((writer) =>
      Effect.gen(function* () {
        const key = yield* sensorKey("poison/b")
        const committed: Array<number> = []
        writer.onAlertsCommitted((alerts) => committed.push(...alerts.map((a) => a.id)))
        const before = yield* Effect.promise(() => counterValue("flowmesh_writer_unstored_total", { kind: "alert" }))
        writer.push(key, Date.UTC(2026, 10, 2), 1, 0, "poison/b")
        const event = (message: string): SensorAlertEvent => ({
          sensor: "poison/b",
          rule: "r",
          kind: "threshold",
          severity: "warning",
          signal: "raised",
          at: 1,
          receivedAt: 1,
          value: 1,
          count: 1,
          message,
          cooldownMs: null
        })
        writer.pushAlert("n1", event("fine"))
        // jsonb cannot hold a NUL character: PostgreSQL refuses this one event for its data.
        writer.pushAlert("n1", event("bad\u0000byte"))
        writer.pushAlert("n1", event("also fine"))
        const flushed = yield* writer.awaitCommit(writer.commitPoint(null))
        expect(flushed.unstored).toEqual([])
        expect(yield* storedCount(key)).toBe(1)
        expect(committed).toHaveLength(2)
        const sql = yield* SqlClient.SqlClient
        const notes = yield* sql<{ note: string }>`select event->>'message' as note from alert_outbox order by id`
        expect(notes.map((n) => n.note)).toEqual(["fine", "also fine"])
        expect(yield* Effect.promise(() => counterValue("flowmesh_writer_unstored_total", { kind: "alert" }))).toBe(before + 1)
      })
    )
  )

  it.effect("a snapshot PostgreSQL refuses is left out and counted; the readings and the other snapshots commit", () =>
    withWriter((writer) =>
      Effect.gen(function* () {
        const [a, b, c] = [yield* sensorKey("poison/s1"), yield* sensorKey("poison/s2"), yield* sensorKey("poison/s3")]
        const before = yield* Effect.promise(() => counterValue("flowmesh_writer_unstored_total", { kind: "snapshot" }))
        writer.push(a, Date.UTC(2026, 10, 2), 1, 0, "poison/s1")
        writer.commitPoint({ sensorKey: a, snapshot: () => ({ version: 1, lastSeen: 1, state: { statusReason: "fine" } }) })
        // jsonb cannot hold a NUL character: PostgreSQL refuses this one snapshot for its data.
        writer.commitPoint({ sensorKey: b, snapshot: () => ({ version: 1, lastSeen: 1, state: { statusReason: "bad\u0000byte" } }) })
        const flushed = yield* writer.awaitCommit(writer.commitPoint({ sensorKey: c, snapshot: () => ({ version: 1, lastSeen: 1, state: { statusReason: "also fine" } }) }))
        expect(flushed.unstored).toEqual([])
        expect(yield* storedCount(a)).toBe(1)
        const sql = yield* SqlClient.SqlClient
        const stored = yield* sql<{ key: number; reason: string }>`select sensor_key as key, snapshot->>'statusReason' as reason from sensor_state where sensor_key in (${a}, ${b}, ${c}) order by sensor_key`
        expect(stored).toEqual([
          { key: a, reason: "fine" },
          { key: c, reason: "also fine" }
        ])
        expect(yield* Effect.promise(() => counterValue("flowmesh_writer_unstored_total", { kind: "snapshot" }))).toBe(before + 1)
      })
    )
  )

  it.effect("a flush that cannot commit makes the writer unhealthy until it does, and stopping stays bounded", () =>
    Effect.gen(function* () {
      const key = yield* sensorKey("poison/c")
      const blocker = new pg.Client({ connectionString: databaseUrl })
      yield* Effect.promise(() => blocker.connect())
      yield* Effect.promise(() => blocker.query("begin; lock table readings in access exclusive mode"))
      yield* withWriter((writer) =>
        Effect.gen(function* () {
          writer.push(key, Date.UTC(2026, 10, 3), 1, 0, "poison/c")
          const ticket = writer.commitPoint(null)
          yield* Effect.sync(() => writer.health().committing).pipe(
            Effect.repeat({ until: (committing) => !committing, schedule: Schedule.spaced("20 millis") }),
            Effect.timeout(Duration.seconds(10))
          )
          expect(writer.health().committing).toBe(false)
          expect(writer.health().stalledMs).toBeGreaterThanOrEqual(300)
          yield* Effect.promise(() => blocker.query("commit"))
          const flushed = yield* writer.awaitCommit(ticket)
          expect(flushed.unstored).toEqual([])
          expect(writer.health().committing).toBe(true)
        })
      )
      // Stuck again, then stopped: the drain gives up after WRITER_DRAIN_TIMEOUT_S instead of hanging.
      yield* Effect.promise(() => blocker.query("begin; lock table readings in access exclusive mode"))
      const started = Date.now()
      const [stuck, writer] = yield* withWriter((writer) =>
        Effect.sync(() => {
          writer.push(key, Date.UTC(2026, 10, 4), 1, 0, "poison/c")
          return [writer.commitPoint(null), writer] as const
        })
      )
      expect(Date.now() - started).toBeLessThan(15_000)
      // Its waiter is told it did not commit; never acknowledged, it may still land later (a resend is a duplicate).
      const outcome = yield* Effect.either(writer.awaitCommit(stuck))
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("CommitTimeout")
      yield* Effect.promise(() => blocker.query("rollback").then(() => blocker.end()))
      expect(yield* storedCount(key)).toBeGreaterThanOrEqual(1)
    })
  )

  it.effect("property: every reading the ingest decoder accepts is stored exactly by the flush statement (extremes included)", () =>
    withWriter((writer) =>
      Effect.gen(function* () {
        const key = yield* sensorKey("poison/roundtrip")
        const now = Date.now()
        // The widest future the decoder can be configured to take (MAX_FUTURE_SKEW_MS at its maximum).
        const maxFutureSkewMs = 7 * 86_400_000
        const decode = (reading: unknown) =>
          decodeReadings({ readings: [reading] }, { shape: "batch", sensor: null, maxReadings: 1, now, maxFutureSkewMs })
        const far = now + maxFutureSkewMs
        const extremesTs: ReadonlyArray<unknown> = [0, -0, 5e-324, 1, far, far - 0.5, far + 1, 2 ** 53 + 1, 8.64e15, 1.7e12 + 0.0001, "1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"]
        const extremesValue: ReadonlyArray<number> = [0, -0, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 53 + 1, 1e300, -1e300, 1 / 3, 1e-300, -1e-300]
        const generated = fc.sample(
          fc.record({
            ts: fc.oneof(
              fc.double({ min: -1, max: 9e15, noNaN: true }),
              fc.double({ min: 0, max: far, noNaN: true }),
              fc.maxSafeInteger(),
              fc.date({ min: new Date(0), max: new Date(far), noInvalidDate: true }).map((d) => d.toISOString())
            ),
            value: fc.double({ noNaN: true, noDefaultInfinity: true })
          }),
          { numRuns: 800, seed: 14 }
        )
        const candidates = [
          ...extremesTs.map((ts, i) => ({ sensor: "x", ts, value: extremesValue[i]! })),
          ...generated.map((g) => ({ sensor: "x", ...g }))
        ]
        const expected = new Map<number, number>()
        for (const c of candidates) {
          const decoded = decode(c)
          if (Either.isLeft(decoded)) continue
          const ts = decoded.right[0]!.ts[0]!
          const value = decoded.right[0]!.values[0]!
          if (expected.has(ts)) continue
          expected.set(ts, value)
          writer.push(key, ts, value, 0, "poison/roundtrip")
        }
        expect(expected.size).toBeGreaterThan(150)
        const flushed = yield* writer.awaitCommit(writer.commitPoint(null))
        expect(flushed.unstored).toEqual([])
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ ms: number; value: number }>`
          select (extract(epoch from ts) * 1000)::float8 as ms, value from readings where sensor_key = ${key}`
        expect(rows).toHaveLength(expected.size)
        for (const row of rows) {
          expect(expected.has(row.ms)).toBe(true)
          expect(Object.is(row.value, expected.get(row.ms)! + 0)).toBe(true)
        }
      })
    )
  )

  it.effect("an eviction wave of 1,200 snapshots goes out in statements of at most 500 (bounded sealing), and every one commits", () =>
    withWriter((writer) =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const keys = yield* sql<{ key: number }>`insert into sensors (id) select 'wave/' || g from generate_series(1, 1200) g returning key`
        const flushes = async () =>
          (await registry.getMetricsAsJSON())
            .find((m) => m.name === "flowmesh_writer_flush_seconds")
            ?.values.find((v) => (v as { metricName?: string }).metricName === "flowmesh_writer_flush_seconds_count")?.value ?? Number.NaN
        const before = yield* Effect.promise(flushes)
        let last = writer.barrier()
        for (const { key } of keys) last = writer.commitPoint({ sensorKey: key, snapshot: () => ({ version: 1, lastSeen: Date.now(), state: { k: key } }) })
        yield* writer.awaitCommit(last)
        const stored = yield* sql<{ n: string }>`select count(*) as n from sensor_state s join sensors on sensors.key = s.sensor_key where sensors.id like 'wave/%'`
        expect(Number(stored[0]?.n)).toBe(1200)
        expect((yield* Effect.promise(flushes)) - before).toBeGreaterThanOrEqual(3)
      })
    )
  )
})
