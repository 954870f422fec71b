/**
 * The offline rule's two questions, asked of PostgreSQL because a passivated sensor cannot time
 * itself out: which sensors with an `offline` rule have been silent longer than its `afterSeconds`
 * (and have no unresolved alert for it), and which unresolved offline alerts should clear (the
 * sensor reported again, or the rule is gone). Silence is measured on `sensor_state.last_seen`
 * (the newest accepted reading's ts), or the sensor's creation for one that never reported.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export interface SilentSensor {
  readonly sensor: string
  readonly rule: string
  readonly severity: string | null
  readonly afterSeconds: number
  readonly cooldownSeconds: number | null
  readonly lastSeen: number
}

export interface ReturnedSensor {
  readonly sensor: string
  readonly rule: string
  readonly severity: string
  readonly lastSeen: number | null
  readonly ruleGone: boolean
}

const RULES = `jsonb_array_elements(case when jsonb_typeof(s.config->'rules') = 'array' then s.config->'rules' else '[]'::jsonb end)`

export class OfflineRepo extends Effect.Service<OfflineRepo>()("flowmesh/OfflineRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rules = sql.literal(RULES)

    /**
     * `lagSeconds` is how far `last_seen` may trail the newest reading (snapshots are written at most
     * every SNAPSHOT_INTERVAL_MS, and a new sensor's first one may wait that long): a sensor is silent
     * only past `afterSeconds + lagSeconds`, so a sensor that reports is never called offline.
     */
    const silent = (lagSeconds: number, limit: number) =>
      sql<SilentSensor>`
        select s.id as sensor, r.rule->>'id' as rule, r.rule->>'severity' as severity,
          (r.rule->>'afterSeconds')::float8 as "afterSeconds", (r.rule->>'cooldownSeconds')::float8 as "cooldownSeconds",
          (extract(epoch from coalesce(st.last_seen, s.created_at)) * 1000)::float8 as "lastSeen"
        from sensors s
        left join sensor_state st on st.sensor_key = s.key
        cross join lateral ${rules} as r(rule)
        where r.rule->>'kind' = 'offline'
          and coalesce(st.last_seen, s.created_at)
            < now() - make_interval(secs => (r.rule->>'afterSeconds')::float8 + ${lagSeconds})
          and not exists (
            select 1 from alerts a where a.sensor = s.id and a.rule = r.rule->>'id' and a.status <> 'resolved'
          )
        order by s.id limit ${limit}`

    /** Cleared once `last_seen` is within `afterSeconds` again (between the two bounds nothing changes). */
    const returned = (limit: number) =>
      sql<ReturnedSensor>`
        select a.sensor, a.rule, a.severity, (extract(epoch from st.last_seen) * 1000)::float8 as "lastSeen",
          (rule.after is null) as "ruleGone"
        from alerts a
        left join sensors s on s.id = a.sensor
        left join sensor_state st on st.sensor_key = s.key
        left join lateral (
          select (r.rule->>'afterSeconds')::float8 as after from ${rules} as r(rule)
          where r.rule->>'id' = a.rule and r.rule->>'kind' = 'offline' limit 1
        ) rule on true
        where a.kind = 'offline' and a.status <> 'resolved'
          and (rule.after is null or st.last_seen >= now() - make_interval(secs => rule.after))
        order by a.id limit ${limit}`

    return { silent, returned } as const
  })
}) {}
