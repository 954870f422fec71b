import { describe, expect, it } from "vitest"
import {
  addNodeRole,
  clientsOf,
  deviceRole,
  hasRole,
  isDeviceClient,
  NODE_ROLE,
  nodeRoleCommands,
  parseResponses,
  provisionCommands,
  revokeCommands,
  settled
} from "../../src/storage/dynsec.js"

describe("Mosquitto dynamic-security commands", () => {
  it("make a device key a client whose own role allows its readings topic and its own answers, nothing else", () => {
    const [role, client] = provisionCommands("plant-3/flowmesh", "key_abc", "fmd_secret", "gateway 7")
    expect(role).toEqual({
      command: "createRole",
      rolename: "flowmesh-device-key_abc",
      acls: [
        { acltype: "publishClientSend", topic: "plant-3/flowmesh/key_abc/readings", allow: true },
        { acltype: "subscribePattern", topic: "plant-3/flowmesh/key_abc/#", allow: true },
        { acltype: "publishClientReceive", topic: "plant-3/flowmesh/key_abc/#", allow: true }
      ]
    })
    expect(client).toEqual({ command: "createClient", username: "key_abc", password: "fmd_secret", textname: "gateway 7", roles: [{ rolename: deviceRole("key_abc") }] })
  })

  it("revoke by deleting the client (the broker disconnects it) and its role", () => {
    expect(revokeCommands("key_abc")).toEqual([
      { command: "deleteClient", username: "key_abc" },
      { command: "deleteRole", rolename: "flowmesh-device-key_abc" }
    ])
  })

  it("give the node's user rights under the prefix, then look whether it holds the role", () => {
    const commands = nodeRoleCommands("flowmesh", "admin")
    expect(commands.map((c) => c.command)).toEqual(["createRole", "addRoleACL", "addRoleACL", "addRoleACL", "getClient"])
    expect(commands.slice(1, 4).map((c) => c.topic)).toEqual(["flowmesh/#", "flowmesh/#", "flowmesh/#"])
    expect(addNodeRole("admin")).toEqual({ command: "addClientRole", username: "admin", rolename: NODE_ROLE })
    expect(hasRole({ command: "getClient", data: { client: { username: "admin", roles: [{ rolename: "admin" }, { rolename: NODE_ROLE }] } } }, NODE_ROLE)).toBe(true)
    expect(hasRole({ command: "getClient", data: { client: { username: "admin", roles: [{ rolename: "admin" }] } } }, NODE_ROLE)).toBe(false)
    expect(hasRole({ command: "getClient", error: "Client not found" }, NODE_ROLE)).toBe(false)
  })

  it("count a create of what exists, or a delete of what is gone, as done; any other error as not", () => {
    expect(settled({ command: "createClient" })).toBe(true)
    expect(settled({ command: "createClient", error: "Client already exists" })).toBe(true)
    expect(settled({ command: "addRoleACL", error: "ACL with this topic already exists" })).toBe(true)
    expect(settled({ command: "deleteClient", error: "Client not found" })).toBe(true)
    expect(settled({ command: "createClient", error: "Role not found" })).toBe(false)
    expect(settled({ command: "deleteRole", error: "Internal error" })).toBe(false)
    expect(settled({ command: "addClientRole", error: "Internal error" })).toBe(false)
  })

  it("manage only clients named like flowmesh key ids", () => {
    for (const id of ["key_abc", "key_AbC-_9"]) expect(isDeviceClient(id)).toBe(true)
    for (const id of ["admin", "flowmesh-node", "key_", "key_a/b", "KEY_abc", "key_a b"]) expect(isDeviceClient(id)).toBe(false)
  })

  it("read answers, and refuse what is not one", () => {
    const answers = parseResponses('{"responses":[{"command":"listClients","data":{"totalCount":3,"clients":["admin","key_a",7]},"correlationData":"c1"}]}')
    expect(answers?.[0]?.correlationData).toBe("c1")
    expect(clientsOf(answers![0]!)).toEqual(["admin", "key_a"])
    expect(clientsOf({ command: "listClients", error: "Permission denied" })).toEqual([])
    for (const bad of ["", "{", "[]", '{"responses":{}}']) expect(parseResponses(bad)).toBeNull()
  })
})
