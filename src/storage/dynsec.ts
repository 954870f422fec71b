/**
 * Mosquitto's dynamic-security plugin as plain data: the commands flowmesh publishes to
 * `$CONTROL/dynamic-security/v1` and how it reads the answers. A device key `key_x` becomes a
 * broker client named `key_x` whose password is the key itself, with a role of its own,
 * `flowmesh-device-key_x`, allowing exactly: publish to `<prefix>/key_x/readings`, and subscribe
 * under `<prefix>/key_x/` (its acks and reply topics). One role per key because Mosquitto 2.0's
 * dynamic-security ACLs take no `%u` substitution (measured on 2.0.11: a `%u` ACL matches nothing).
 * The node's own broker user gets the role `flowmesh-node`: publish and subscribe under `<prefix>/`.
 */

export const CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
export const RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"
export const NODE_ROLE = "flowmesh-node"
const DEVICE_ROLE_PREFIX = "flowmesh-device-"

export interface Command {
  readonly command: string
  readonly correlationData?: string
  readonly [field: string]: unknown
}

export interface Response {
  readonly command: string
  readonly correlationData?: string
  readonly error?: string
  readonly data?: unknown
}

/** Only flowmesh's device keys are broker clients it manages (`key_` + base64url, as generateKeyId makes them). */
export const isDeviceClient = (username: string): boolean => /^key_[A-Za-z0-9_-]{1,64}$/.test(username)

export const deviceRole = (keyId: string): string => `${DEVICE_ROLE_PREFIX}${keyId}`

const acl = (acltype: string, topic: string) => ({ acltype, topic, allow: true })

/** A device key's broker client and its role: it may publish its readings and hear its answers, nothing else. */
export const provisionCommands = (prefix: string, keyId: string, key: string, name: string): ReadonlyArray<Command> => [
  {
    command: "createRole",
    rolename: deviceRole(keyId),
    acls: [
      acl("publishClientSend", `${prefix}/${keyId}/readings`),
      acl("subscribePattern", `${prefix}/${keyId}/#`),
      acl("publishClientReceive", `${prefix}/${keyId}/#`)
    ]
  },
  { command: "createClient", username: keyId, password: key, textname: name.slice(0, 200), roles: [{ rolename: deviceRole(keyId) }] }
]

/** Deleting the client disconnects it at once (Mosquitto kicks a deleted client's connections). */
export const revokeCommands = (keyId: string): ReadonlyArray<Command> => [
  { command: "deleteClient", username: keyId },
  { command: "deleteRole", rolename: deviceRole(keyId) }
]

/**
 * The node's own rights under the prefix, as a role for its broker user (which must be a
 * dynamic-security admin to send these), and a look at that user's roles: `addNodeRole` follows only
 * when it lacks the role (Mosquitto 2.0.11 answers a repeated addClientRole with "Internal error").
 */
export const nodeRoleCommands = (prefix: string, username: string): ReadonlyArray<Command> => [
  { command: "createRole", rolename: NODE_ROLE },
  { command: "addRoleACL", rolename: NODE_ROLE, ...acl("publishClientSend", `${prefix}/#`) },
  { command: "addRoleACL", rolename: NODE_ROLE, ...acl("subscribePattern", `${prefix}/#`) },
  { command: "addRoleACL", rolename: NODE_ROLE, ...acl("publishClientReceive", `${prefix}/#`) },
  { command: "getClient", username }
]

export const addNodeRole = (username: string): Command => ({ command: "addClientRole", username, rolename: NODE_ROLE })

/** Whether a `getClient` answer shows the role. */
export const hasRole = (r: Response, role: string): boolean => {
  const data = r.data as { readonly client?: { readonly roles?: ReadonlyArray<{ readonly rolename?: unknown }> } } | undefined
  return (data?.client?.roles ?? []).some((x) => x.rolename === role)
}

export const listClientsCommand: Command = { command: "listClients", verbose: false, count: -1, offset: 0 }

/**
 * Whether a response means the broker now holds what the command asked for: a create of what
 * exists, or a delete of what is gone, is as good as done (commands are repeated after a failure
 * and by every node).
 */
export const settled = (r: Response): boolean =>
  r.error === undefined || (r.command.startsWith("delete") ? /not found/i : /already/i).test(r.error)

/** The usernames of a `listClients` answer (non-verbose: plain strings). */
export const clientsOf = (r: Response): ReadonlyArray<string> => {
  const data = r.data as { readonly clients?: ReadonlyArray<unknown> } | undefined
  return (data?.clients ?? []).filter((c): c is string => typeof c === "string")
}

/** The answers in a response payload, or null when it is not one. */
export const parseResponses = (payload: string): ReadonlyArray<Response> | null => {
  try {
    const body = JSON.parse(payload) as { readonly responses?: unknown }
    return Array.isArray(body.responses) ? (body.responses as ReadonlyArray<Response>) : null
  } catch {
    return null
  }
}
