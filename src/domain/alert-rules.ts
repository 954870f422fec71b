/**
 * Alert rules as the sensors API takes them: one struct per kind, discriminated by `kind`, with
 * the optional fields a user may leave out. Decoding applies the defaults, so the pure core gets
 * exactly `AlertRule` and never re-validates; a rule that could never raise or never clear is
 * refused here rather than evaluated.
 */
import { Schema } from "effect"
import type { AlertRule, Severity } from "./rule-kinds.js"

export const MAX_RULES_PER_SENSOR = 32
const DAY_SECONDS = 86_400
const WEEK_SECONDS = 604_800

const finite = Schema.Number.pipe(Schema.finite())
const nonNegative = finite.pipe(Schema.nonNegative())
const secondsUpTo = (max: number) => finite.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(max))
const intRange = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))

const RuleId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/, {
    message: () => "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"
  })
)

/** One message for a whole union instead of one "Expected ..." per member (`override`: unions are composite). */
const oneMessage = (message: string) => ({ message: () => ({ message, override: true }) })

const nullOr = <A, I>(schema: Schema.Schema<A, I>, what: string) =>
  Schema.NullOr(schema).annotations(oneMessage(`must be ${what} or null`))

/** Exact: a key may be left out, but when present it must hold a value (`undefined` is not one). */
const withDefault = <A, I>(schema: Schema.Schema<A, I>, value: () => A) =>
  Schema.optionalWith(schema, { exact: true, default: value })

const common = {
  id: RuleId,
  severity: withDefault(
    Schema.Literal("info", "warning", "critical").annotations(oneMessage('must be "info", "warning" or "critical"')),
    (): Severity => "warning"
  ),
  cooldownSeconds: withDefault(nullOr(finite.pipe(Schema.between(0, DAY_SECONDS)), "a number of seconds from 0 to 86400"), () => null)
}

const optionalLimit = withDefault(nullOr(finite, "a finite number"), () => null)
const deadband = withDefault(nonNegative, () => 0)

interface Limits {
  readonly high: number | null
  readonly low: number | null
}

/** The limit checks threshold and predicted_breach share; `undefined` when the limits are usable. */
const limitsIssue = (r: Limits): Schema.FilterIssue | undefined => {
  if (r.high === null && r.low === null) return { path: ["high"], message: "at least one of high or low is required" }
  if (r.high !== null && r.low !== null && r.low >= r.high) return { path: ["low"], message: "must be less than high" }
  return undefined
}

const ThresholdRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("threshold"),
  high: optionalLimit,
  low: optionalLimit,
  deadband,
  forSeconds: withDefault(finite.pipe(Schema.between(0, DAY_SECONDS)), () => 0)
}).pipe(
  Schema.filter((r) => {
    const issue = limitsIssue(r)
    if (issue !== undefined) return issue
    // Otherwise the band where the alert clears is empty and a raised alert could never clear.
    if (r.high !== null && r.low !== null && r.deadband * 2 >= r.high - r.low) {
      return { path: ["deadband"], message: "must be less than half of high - low" }
    }
    return true
  })
)

const RateOfChangeRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("rate_of_change"),
  maxPerSecond: finite.pipe(Schema.positive()),
  deadband
}).pipe(
  Schema.filter((r) =>
    // A deadband of maxPerSecond or more leaves no rate at which a raised alert clears.
    r.deadband < r.maxPerSecond ? true : { path: ["deadband"], message: "must be less than maxPerSecond" }
  )
)

const FlatlineRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("flatline"),
  readings: withDefault(nullOr(intRange(2, 1_000_000), "an integer from 2 to 1000000"), () => null),
  seconds: withDefault(nullOr(secondsUpTo(WEEK_SECONDS), "a number of seconds above 0 and up to 604800"), () => null)
}).pipe(
  Schema.filter((r) =>
    r.readings !== null || r.seconds !== null
      ? true
      : { path: ["readings"], message: "at least one of readings or seconds is required" }
  )
)

const SuspectShareRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("suspect_share"),
  maxShare: Schema.Number.pipe(Schema.between(0, 1)),
  minSamples: withDefault(intRange(1, 10_000), () => 10)
})

const StatusRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("status"),
  statuses: Schema.Array(
    Schema.Literal("degraded", "fault").annotations(oneMessage('must be "degraded" or "fault"'))
  ).pipe(
    Schema.minItems(1, { message: () => "must name at least one status" })
  )
})

const OfflineRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("offline"),
  afterSeconds: finite.pipe(Schema.between(1, WEEK_SECONDS))
})

const PredictedBreachRule = Schema.Struct({
  ...common,
  kind: Schema.Literal("predicted_breach"),
  high: optionalLimit,
  low: optionalLimit,
  horizonSeconds: secondsUpTo(WEEK_SECONDS),
  minSamples: withDefault(intRange(3, 10_000), () => 10)
}).pipe(Schema.filter((r) => limitsIssue(r) ?? true))

const AlertRuleUnion = Schema.Union(
  ThresholdRule,
  RateOfChangeRule,
  FlatlineRule,
  SuspectShareRule,
  StatusRule,
  OfflineRule,
  PredictedBreachRule
).annotations({ identifier: "AlertRuleInput", parseOptions: { onExcessProperty: "error", errors: "all" } })

/** What a user writes: everything but `id`, `kind` and the kind's required fields is optional. */
export type AlertRuleEncoded = typeof AlertRuleUnion.Encoded

/** Annotated with the core's type: the compiler checks that decoding yields exactly `AlertRule`. */
export const AlertRuleInput: Schema.Schema<AlertRule, AlertRuleEncoded> = AlertRuleUnion

export const AlertRules = Schema.Array(AlertRuleInput).pipe(
  Schema.maxItems(MAX_RULES_PER_SENSOR, { message: () => `at most ${MAX_RULES_PER_SENSOR} rules per sensor` }),
  Schema.filter((rules) => {
    const seen = new Set<string>()
    const issues: Schema.FilterIssue[] = []
    for (let i = 0; i < rules.length; i++) {
      const id = rules[i]!.id
      if (seen.has(id)) issues.push({ path: [i], message: `duplicate rule id "${id}"` })
      seen.add(id)
    }
    return issues.length === 0 ? true : issues
  })
).annotations({ identifier: "AlertRules", parseOptions: { onExcessProperty: "error", errors: "all" } })

/** The decoded rule as stored in the effective config: same shape on both sides, for RPC payloads. */
export const AlertRuleView = Schema.typeSchema(AlertRuleInput).annotations({ identifier: "AlertRule" })
