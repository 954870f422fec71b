/**
 * The deployment files say only what the code understands: every environment variable they set is
 * a setting of src/config.ts, every port is one a node listens on, every metric the dashboard
 * charts is declared in src/telemetry/metrics*.ts. (`docker compose config` and kubectl are not
 * installed here; this is the check that runs everywhere.)
 */
import { readdirSync, readFileSync } from "node:fs"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { parse, parseAllDocuments } from "yaml"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

const settings = new Set(Array.from(read("src/config.ts").matchAll(/"([A-Z][A-Z0-9_]+)"/g), (m) => m[1]))
const metrics = new Set(
  ["metrics.ts", "metrics-alerts.ts", "metrics-channels.ts", "metrics-registry.ts", "metrics-rollups.ts"].flatMap((f) => Array.from(read(`src/telemetry/${f}`).matchAll(/name: "(flowmesh_[a-z_]+)"/g), (m) => m[1]))
)

// The parts of each file the checks read, decoded (anything else in the files is not looked at).
const Env = Schema.Record({ key: Schema.String, value: Schema.String })
const Compose = Schema.Struct({
  services: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({ environment: Schema.optional(Env), ports: Schema.optional(Schema.Array(Schema.String)) })
  })
})
const Prometheus = Schema.Struct({
  scrape_configs: Schema.Array(Schema.Struct({ static_configs: Schema.Array(Schema.Struct({ targets: Schema.Array(Schema.String) })) }))
})
const Dashboard = Schema.Struct({
  panels: Schema.Array(
    Schema.Struct({
      datasource: Schema.Struct({ type: Schema.String }),
      targets: Schema.Array(Schema.Struct({ expr: Schema.optional(Schema.String), rawSql: Schema.optional(Schema.String) }))
    })
  )
})
const Port = Schema.Struct({ name: Schema.String, containerPort: Schema.Number })
const Probe = Schema.Struct({ httpGet: Schema.Struct({ path: Schema.String, port: Schema.String }) })
const Container = Schema.Struct({
  ports: Schema.Array(Port),
  env: Schema.Array(Schema.Struct({ name: Schema.String })),
  readinessProbe: Probe,
  livenessProbe: Probe
})
const Manifest = Schema.Struct({
  kind: Schema.String,
  metadata: Schema.Struct({ name: Schema.String, namespace: Schema.optional(Schema.String) }),
  data: Schema.optional(Env),
  spec: Schema.optional(
    Schema.Struct({
      clusterIP: Schema.optional(Schema.String),
      ports: Schema.optional(Schema.Array(Schema.Struct({ targetPort: Schema.Union(Schema.String, Schema.Number) }))),
      scaleTargetRef: Schema.optional(Schema.Struct({ name: Schema.String })),
      template: Schema.optional(Schema.Struct({ spec: Schema.Struct({ containers: Schema.Array(Container) }) }))
    })
  )
})
type Manifest = typeof Manifest.Type

describe("docker-compose.yml", () => {
  const compose = Schema.decodeUnknownSync(Compose)(parse(read("docker-compose.yml"), { merge: true }))
  const nodes = ["node1", "node2", "node3"]

  it("has PostgreSQL, Redis, three nodes, Prometheus and Grafana", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["grafana", "node1", "node2", "node3", "postgres", "prometheus", "redis"])
  })

  it("sets only settings the node reads, and each node advertises its own service name", () => {
    expect(settings.size).toBeGreaterThan(40)
    for (const name of nodes) {
      const env = compose.services[name]?.environment ?? {}
      expect(Object.keys(env).filter((k) => !settings.has(k))).toEqual([])
      expect(env.RUNNER_HOST).toBe(name)
      expect(env.DATABASE_URL).toMatch(/@postgres:5432\//)
      expect(env.REDIS_URL).toBe("redis://redis:6379")
      expect(env.AUTH_MODE).toBe("required")
      expect(env.AUTH_PEPPER).toMatch(/^\$\{FLOWMESH_AUTH_PEPPER:\?/)
      expect(compose.services[name]?.ports).toEqual([expect.stringMatching(/^\d+:8080$/)])
    }
  })

  it("Prometheus scrapes every node on its HTTP port, and Grafana charts only metrics the node exports", () => {
    const prometheus = Schema.decodeUnknownSync(Prometheus)(parse(read("deploy/prometheus/prometheus.yml")))
    expect(prometheus.scrape_configs[0]?.static_configs[0]?.targets).toEqual(nodes.map((n) => `${n}:8080`))
    const dashboard = Schema.decodeUnknownSync(Dashboard)(JSON.parse(read("deploy/grafana/dashboards/flowmesh.json")))
    const charted = new Set<string>()
    for (const panel of dashboard.panels) {
      if (panel.datasource.type !== "prometheus") continue
      for (const target of panel.targets) {
        for (const m of (target.expr ?? "").matchAll(/flowmesh_[a-z_]+/g)) charted.add(m[0].replace(/_(bucket|sum|count)$/, ""))
      }
    }
    expect(charted.size).toBeGreaterThan(6)
    expect(Array.from(charted).filter((m) => !metrics.has(m))).toEqual([])
  })
})

describe("deploy/k8s", () => {
  const docs: Array<Manifest> = readdirSync(new URL("../../deploy/k8s", import.meta.url))
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(read(`deploy/k8s/${f}`)).map((d) => Schema.decodeUnknownSync(Manifest)(d.toJS())))
  const kind = (k: string) => docs.filter((d) => d.kind === k)
  const one = (k: string): Manifest => {
    const found = kind(k)
    expect(found).toHaveLength(1)
    return found[0]!
  }

  it("has a namespace, config map, deployment, edge and headless runner services, an autoscaler and a disruption budget", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Namespace", "PodDisruptionBudget", "Service", "Service"])
    expect(docs.filter((d) => d.kind !== "Namespace").every((d) => d.metadata.namespace === "flowmesh")).toBe(true)
    expect(kind("Service").map((s) => s.spec?.clusterIP ?? "edge").sort()).toEqual(["None", "edge"])
  })

  it("configures only settings the node reads, on the ports it listens on, with readiness and liveness probes", () => {
    const config = one("ConfigMap").data ?? {}
    const container = one("Deployment").spec?.template?.spec.containers[0]
    if (container === undefined) throw new Error("the Deployment has no container")
    const envNames = [...Object.keys(config), ...container.env.map((e) => e.name)]
    expect(envNames.filter((k) => !settings.has(k))).toEqual([])
    expect(config.AUTH_MODE).toBe("required")
    expect(container.env.map((e) => e.name)).toEqual(expect.arrayContaining(["AUTH_PEPPER", "AUTH_BOOTSTRAP_ADMIN_KEY"]))
    const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]))
    expect(ports).toEqual({ http: Number(config.PORT), runner: Number(config.RUNNER_PORT) })
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" })
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" })
    for (const service of kind("Service")) {
      for (const port of service.spec?.ports ?? []) expect(Object.keys(ports)).toContain(port.targetPort)
    }
    expect(one("HorizontalPodAutoscaler").spec?.scaleTargetRef?.name).toBe(one("Deployment").metadata.name)
  })
})
