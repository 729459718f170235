/** Tool lookups shared by the tool steps. */
import type { CompiledPolicyPayload, ToolEntry } from "../../policy/types.ts";
import type { CallContext, ToolCall } from "../types.ts";

/** Names a call may be listed under: its own, and Claude Code's mcp__server__tool form. */
export function toolNames(call: ToolCall): string[] {
  const out = [call.name];
  if (call.server) out.push(`mcp__${call.server}__${call.name}`, `${call.server}/${call.name}`);
  const m = /^mcp__([^_]+(?:_[^_]+)*)__(.+)$/.exec(call.name);
  if (m) out.push(m[2] as string);
  return out;
}

export function catalogEntry(policy: CompiledPolicyPayload, call: ToolCall): ToolEntry | undefined {
  for (const n of toolNames(call)) {
    const e = policy.tools.catalog[n];
    if (e) return e;
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
