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
const Probe = Schema.Struct({ httpGet: Schema.optional(Schema.Struct({ path: Schema.String, port: Schema.String })) })
const Container = Schema.Struct({
  name: Schema.String,
  ports: Schema.Array(Port),
  env: Schema.Array(Schema.Struct({ name: Schema.String, valueFrom: Schema.optional(Schema.Struct({ fieldRef: Schema.optional(Schema.Struct({ fieldPath: Schema.String })) })) })),
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
      selector: Schema.optional(Schema.Struct({ app: Schema.optional(Schema.String) })),
      serviceName: Schema.optional(Schema.String),
      scaleTargetRef: Schema.optional(Schema.Struct({ kind: Schema.String, name: Schema.String })),
      ports: Schema.optional(Schema.Array(Schema.Struct({ targetPort: Schema.Union(Schema.String, Schema.Number) }))),
      template: Schema.optional(Schema.Struct({ spec: Schema.Struct({ containers: Schema.Array(Container) }) }))
    })
  )
})
type Manifest = typeof Manifest.Type

describe("docker-compose.yml", () => {
  const compose = Schema.decodeUnknownSync(Compose)(parse(read("docker-compose.yml"), { merge: true }))
  const nodes = ["node1", "node2", "node3"]

  it("has PostgreSQL, Redis, Mosquitto, three nodes, Prometheus and Grafana", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["grafana", "mosquitto", "node1", "node2", "node3", "postgres", "prometheus", "redis"])
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
      // The broker's admin is the nodes' user; each node keeps its MQTT sessions under its own stable id.
      expect(env.MQTT_URL).toBe("mqtt://mosquitto:1883")
      expect(env.MQTT_USERNAME).toBe(compose.services.mosquitto?.environment?.MQTT_ADMIN_USERNAME)
      expect(env.MQTT_PASSWORD).toBe(compose.services.mosquitto?.environment?.MQTT_ADMIN_PASSWORD)
      expect(env.MQTT_CLIENT_ID).toBe(name)
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
  const nodes = (): Manifest => {
    const found = kind("StatefulSet").filter((d) => d.metadata.name === "flowmesh")
    expect(found).toHaveLength(1)
    return found[0]!
  }
  const flowmeshServices = () => kind("Service").filter((s) => s.spec?.selector?.app === "flowmesh")
  const one = (k: string): Manifest => {
    const found = kind(k)
    expect(found).toHaveLength(1)
    return found[0]!
  }

  it("has a namespace, config map, the nodes' and the broker's stateful sets, edge, headless runner and broker services, an autoscaler and a disruption budget", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual([
      "ConfigMap",
      "HorizontalPodAutoscaler",
      "Namespace",
      "PodDisruptionBudget",
      "Service",
      "Service",
      "Service",
      "StatefulSet",
      "StatefulSet"
    ])
    expect(docs.filter((d) => d.kind !== "Namespace").every((d) => d.metadata.namespace === "flowmesh")).toBe(true)
    expect(nodes().spec?.serviceName).toBe("flowmesh-runners")
    expect(flowmeshServices().map((s) => s.spec?.clusterIP ?? "edge").sort()).toEqual(["None", "edge"])
  })

  it("configures only settings the node reads, on the ports it listens on, with readiness and liveness probes", () => {
    const config = one("ConfigMap").data ?? {}
    const container = nodes().spec?.template?.spec.containers[0]
    if (container === undefined) throw new Error("the nodes' StatefulSet has no container")
    const envNames = [...Object.keys(config), ...container.env.map((e) => e.name)]
    expect(envNames.filter((k) => !settings.has(k))).toEqual([])
    expect(config.AUTH_MODE).toBe("required")
    expect(container.env.map((e) => e.name)).toEqual(expect.arrayContaining(["AUTH_PEPPER", "AUTH_BOOTSTRAP_ADMIN_KEY", "MQTT_PASSWORD"]))
    // Each pod's MQTT sessions carry its stable name, so a replaced pod resumes them.
    expect(container.env.find((e) => e.name === "MQTT_CLIENT_ID")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name")
    const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]))
    expect(ports).toEqual({ http: Number(config.PORT), runner: Number(config.RUNNER_PORT) })
    expect(container.readinessProbe.httpGet).toEqual({ path: "/ready", port: "http" })
    expect(container.livenessProbe.httpGet).toEqual({ path: "/health", port: "http" })
    for (const service of flowmeshServices()) {
      for (const port of service.spec?.ports ?? []) expect(Object.keys(ports)).toContain(port.targetPort)
    }
    expect(one("HorizontalPodAutoscaler").spec?.scaleTargetRef).toEqual({ kind: "StatefulSet", name: nodes().metadata.name })
  })

  it("runs the broker the nodes are configured for, on the port its service names", () => {
    const config = one("ConfigMap").data ?? {}
    const broker = kind("StatefulSet").find((d) => d.metadata.name === "mosquitto")
    const container = broker?.spec?.template?.spec.containers[0]
    expect(container?.ports).toEqual([{ name: "mqtt", containerPort: 1883 }])
    const service = kind("Service").find((s) => s.spec?.selector?.app === "mosquitto")
    expect(config.MQTT_URL).toBe(`mqtt://${service?.metadata.name}.flowmesh.svc:1883`)
    expect(service?.spec?.ports?.map((p) => p.targetPort)).toEqual(["mqtt"])
  })
})
