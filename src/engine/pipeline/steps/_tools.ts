/** Tool lookups shared by the tool steps. */
import { toolAlias } from "../../policy/tool-aliases.ts";
import type { CompiledPolicyPayload, ToolEntry } from "../../policy/types.ts";
import type { Db } from "../../store/db.ts";
import type { CallContext, ToolCall } from "../types.ts";

/** Names a call may be listed under: its own, its built-in alias (Bash ↔ run_shell_command), and Claude Code's mcp__server__tool form. */
export function toolNames(call: ToolCall): string[] {
  const out = [call.name];
  const alias = toolAlias(call.name);
  if (alias && !call.server) out.push(alias);
  if (call.server) out.push(`mcp__${call.server}__${call.name}`, `${call.server}/${call.name}`);
  const m = /^mcp__([^_]+(?:_[^_]+)*)__(.+)$/.exec(call.name);
  if (m) out.push(m[2] as string);
  return out;
}

/**
 * The catalog's entry for a call. An entry pinned to an MCP server describes that server's tool:
 * a call from no MCP server (a harness's built-in read_file, say, beside the filesystem server's)
 * is not that tool, and falls through to its alias (Read).
 */
export function catalogEntry(policy: CompiledPolicyPayload, call: ToolCall): ToolEntry | undefined {
  const fromMcp = mcpIdentity(call) !== undefined;
  for (const n of toolNames(call)) {
    const e = policy.tools.catalog[n];
    if (e && (fromMcp || !e.server)) return e;
  }
  return undefined;
}

/** The tool's argument schema: as the server advertises it, else as the catalog pins it. */
export function inputSchemaOf(ctx: CallContext, policy: CompiledPolicyPayload, call: ToolCall): Record<string, unknown> | undefined {
  for (const n of toolNames(call)) {
    const s = ctx.tool_schemas?.[n]?.inputSchema;
    if (s) return s;
  }
  return catalogEntry(policy, call)?.input_schema;
}

/** The MCP server and tool a call names: its own `server`, or Claude Code's mcp__server__tool form. */
export function mcpIdentity(call: ToolCall): { server: string; name: string } | undefined {
  if (call.server) return { server: call.server, name: call.name };
  const m = /^mcp__([^_]+(?:_[^_]+)*)__(.+)$/.exec(call.name);
  return m ? { server: m[1] as string, name: m[2] as string } : undefined;
}

/**
 * An operator's run-time approval of an MCP tool (`tappass tools approve NAME`, or a registered
 * server's auto-approve), read from the discovery queue (table mcp_tools), never from a flag the
 * adapter sets. Undefined when the call names no MCP server or the tool is not approved.
 */
export function operatorApproval(db: Db, call: ToolCall): { server: string; name: string; decided_by: string | null } | undefined {
  const id = mcpIdentity(call);
  if (!id) return undefined;
  const row = db.prepare<{ status: string; decided_by: string | null }>("SELECT status, decided_by FROM mcp_tools WHERE server = ? AND name = ?").get(id.server, id.name);
  return row?.status === "approved" ? { ...id, decided_by: row.decided_by } : undefined;
}
