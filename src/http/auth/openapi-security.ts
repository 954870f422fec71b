/**
 * Puts the access policy into the OpenAPI document: the security schemes (bearer key or JWT,
 * X-Device-Key, X-API-Key), and on every operation that is not public the schemes it accepts, the
 * role it needs and the answers of the edge that refuses a caller (401, 403, 429), so that
 * generated clients send credentials where they must and expect those refusals.
 */
import { JSONSchema, Option, type Schema, SchemaAST } from "effect"
import { Forbidden, RateLimited, Unauthorized } from "../errors.js"
import type { Access } from "./policy.js"

const SCHEMES = {
  bearer: { type: "http", scheme: "bearer", description: "A device key (fmd_…), an API key (fms_…) or a JWT" },
  deviceKey: { type: "apiKey", in: "header", name: "X-Device-Key", description: "A device key (fmd_…): ingest only" },
  apiKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "An API key (fms_…)" }
} as const

const NEEDS: Record<Exclude<Access, "public">, string> = {
  authenticated: "any credential the node accepts (a device key included)",
  ingest: "a device key, or role operator or above",
  viewer: "role viewer or above",
  operator: "role operator or above",
  admin: "role admin",
  superuser: "the superuser (bootstrap admin key)"
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const REFUSALS: ReadonlyArray<readonly [status: string, schema: Schema.Schema.Any]> = [
  ["401", Unauthorized],
  ["403", Forbidden],
  ["429", RateLimited]
]

/** Each refusal as an operation's response, its schema added to `definitions` (the document's components). */
const refusalResponses = (definitions: Record<string, JSONSchema.JsonSchema7>) =>
  Object.fromEntries(
    REFUSALS.map(([status, schema]) => {
      const json = JSONSchema.fromAST(schema.ast, { definitions, definitionPath: "#/components/schemas/", target: "openApi3.1" })
      // A Schema.Class keeps its annotations on the class side of its transformation.
      const ast = SchemaAST.isTransformation(schema.ast) ? schema.ast.to : schema.ast
      const description = Option.getOrElse(SchemaAST.getDescriptionAnnotation(ast), () => status)
      return [status, { description, content: { "application/json": { schema: json } } }]
    })
  )

/** `access`: every endpoint's access by operationId (`group.endpoint`); one missing needs the superuser. */
export const addSecurity = (spec: Record<string, unknown>, access: Readonly<Record<string, Access>>): Record<string, unknown> => {
  const components = isRecord(spec.components) ? spec.components : {}
  const paths = isRecord(spec.paths) ? spec.paths : {}
  const schemas: Record<string, JSONSchema.JsonSchema7> = {}
  const refusals = refusalResponses(schemas)
  for (const item of Object.values(paths)) {
    if (!isRecord(item)) continue
    for (const op of Object.values(item)) {
      if (!isRecord(op) || typeof op.operationId !== "string") continue
      const needed = access[op.operationId] ?? "superuser"
      if (needed === "public") {
        op.security = []
        continue
      }
      op.security = needed === "ingest" ? [{ bearer: [] }, { deviceKey: [] }, { apiKey: [] }] : [{ bearer: [] }, { apiKey: [] }]
      op.responses = { ...(isRecord(op.responses) ? op.responses : {}), ...refusals }
      const needs = `Needs ${NEEDS[needed]} when AUTH_MODE=required.`
      op.description = typeof op.description === "string" && op.description !== "" ? `${op.description}\n\n${needs}` : needs
    }
  }
  return {
    ...spec,
    components: {
      ...components,
      schemas: { ...(isRecord(components.schemas) ? components.schemas : {}), ...schemas },
      securitySchemes: { ...(isRecord(components.securitySchemes) ? components.securitySchemes : {}), ...SCHEMES }
    }
  }
}
