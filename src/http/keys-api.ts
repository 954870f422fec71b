/**
 * The access contract: tenants (managed by the superuser) and their device and API keys. A key is
 * returned once, in the answer that creates it; listings show its hint (first characters) only.
 */
import { RequiredAccess } from "./auth/policy.js"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { TextParam } from "../domain/request-params.js"
import { SensorId } from "../domain/sensor-id.js"
import { TenantId } from "../domain/tenant-id.js"
import { apiError, ServiceUnavailable, withJsonBody } from "./errors.js"

export class KeyNotFound extends apiError<KeyNotFound>()("KeyNotFound", "key_not_found", 404) {}
export class TenantNotFound extends apiError<TenantNotFound>()("TenantNotFound", "tenant_not_found", 404) {}
export class TenantExists extends apiError<TenantExists>()("TenantExists", "tenant_exists", 409) {}
export class KeysDisabled extends apiError<KeysDisabled>()("KeysDisabled", "keys_disabled", 409, "AUTH_PEPPER is not set: keys cannot be issued") {}
export class InvalidKeyRequest extends apiError<InvalidKeyRequest>()("InvalidKeyRequest", "invalid_request", 400) {}

const Role = Schema.Literal("viewer", "operator", "admin")

export const CreateKey = Schema.Struct({
  kind: Schema.Literal("device", "service").annotations({ description: "device: may only ingest; service: an API key with a role" }),
  name: TextParam.pipe(Schema.minLength(1), Schema.maxLength(200)),
  role: Schema.optionalWith(Role, { exact: true }).annotations({ description: "Required for a service key; not allowed for a device key" }),
  tenant: Schema.optionalWith(TenantId, { exact: true }).annotations({ description: "Default: the caller's tenant. Only the superuser may name another" }),
  sensorPrefix: Schema.optionalWith(TextParam.pipe(Schema.minLength(1), Schema.maxLength(128)), { exact: true }).annotations({
    description: "Device keys: only sensors whose id starts with this"
  }),
  sensors: Schema.optionalWith(Schema.Array(SensorId).pipe(Schema.minItems(1), Schema.maxItems(10_000)), { exact: true }).annotations({
    description: "Device keys: only these sensors"
  })
}).annotations({ identifier: "CreateKey", parseOptions: { onExcessProperty: "error", errors: "all" } })

const keyFields = {
  id: Schema.String,
  tenant: Schema.String,
  kind: Schema.Literal("device", "service"),
  role: Schema.NullOr(Role),
  name: Schema.String,
  hint: Schema.String,
  sensorPrefix: Schema.NullOr(Schema.String),
  sensors: Schema.NullOr(Schema.Array(Schema.String)),
  createdAt: Schema.Number,
  createdBy: Schema.String,
  revokedAt: Schema.NullOr(Schema.Number)
}

export const KeyView = Schema.Struct(keyFields).annotations({ identifier: "Key" })
export const CreatedKey = Schema.Struct({
  ...keyFields,
  key: Schema.String.annotations({ description: "The key itself: shown in this answer only, never again" })
}).annotations({ identifier: "CreatedKey" })

export const Tenant = Schema.Struct({ id: Schema.String, name: Schema.String, createdAt: Schema.Number }).annotations({ identifier: "Tenant" })
export const CreateTenant = Schema.Struct({ id: TenantId, name: TextParam.pipe(Schema.minLength(1), Schema.maxLength(200)) }).annotations({
  identifier: "CreateTenant",
  parseOptions: { onExcessProperty: "error", errors: "all" }
})

export class KeysApi extends HttpApiGroup.make("keys")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/keys").annotate(RequiredAccess, "admin")
      .setPayload(CreateKey)
      .addSuccess(CreatedKey, { status: 201 })
      .addError(InvalidKeyRequest)
      .addError(TenantNotFound)
      .addError(KeysDisabled)
      .addError(ServiceUnavailable)
      .pipe(withJsonBody)
  )
  .add(HttpApiEndpoint.get("list", "/api/v1/keys").annotate(RequiredAccess, "admin").addSuccess(Schema.Struct({ keys: Schema.Array(KeyView) })).addError(ServiceUnavailable))
  .add(
    HttpApiEndpoint.del("revoke", "/api/v1/keys/:id").annotate(RequiredAccess, "admin")
      .setPath(Schema.Struct({ id: TextParam.pipe(Schema.maxLength(64)) }))
      .addSuccess(HttpApiSchema.NoContent)
      .addError(KeyNotFound)
      .addError(ServiceUnavailable)
  )
  .annotate(OpenApi.Title, "Keys") {}

export class TenantsApi extends HttpApiGroup.make("tenants")
  .add(
    HttpApiEndpoint.post("create", "/api/v1/tenants").annotate(RequiredAccess, "superuser")
      .setPayload(CreateTenant)
      .addSuccess(Tenant, { status: 201 })
      .addError(TenantExists)
      .addError(ServiceUnavailable)
      .pipe(withJsonBody)
  )
  .add(HttpApiEndpoint.get("list", "/api/v1/tenants").annotate(RequiredAccess, "superuser").addSuccess(Schema.Struct({ tenants: Schema.Array(Tenant) })).addError(ServiceUnavailable))
  .annotate(OpenApi.Title, "Tenants") {}

export const Me = Schema.Struct({
  kind: Schema.Literal("device", "service", "user", "bootstrap", "anonymous"),
  id: Schema.String.annotations({ description: "The key id or the token's subject (never a secret); anonymous with AUTH_MODE=none" }),
  tenant: Schema.String,
  role: Schema.NullOr(Role).annotations({ description: "Null for a device key: it may only ingest" }),
  superuser: Schema.Boolean,
  authMode: Schema.Literal("required", "none")
}).annotations({ identifier: "Me", description: "The caller as the node authenticated it" })

export class MeApi extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("get", "/api/v1/me").annotate(RequiredAccess, "authenticated").addSuccess(Me))
  .annotate(OpenApi.Title, "Me")
  .annotate(OpenApi.Description, "Who the credential is: what a dashboard asks to know which actions to offer") {}
