import { Schema } from "effect"
import { TextParam } from "./request-params.js"

/** 1–32 characters of `[a-z0-9-]`, starting with a letter or digit (see tenancy.ts for how ids are scoped). */
export const TenantId = TextParam.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: () => "1-32 characters of a-z 0-9 -, starting with a letter or digit" }),
  Schema.brand("TenantId")
).annotations({ identifier: "TenantId" })
export type TenantId = typeof TenantId.Type
