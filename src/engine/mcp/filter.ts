/**
 * The one tool decision the broker applies both to tools/list (what the client may see) and to
 * tools/call (what it may run), so no path shows more than it lets through:
 *
 *   1. tools.deny (globs)                              → hidden / refused
 *   2. a capability in identity.forbidden_capabilities
 *      or tools.denied_capabilities (catalog entry)    → hidden / refused
 *   3. an operator's `tappass tools deny NAME`         → hidden / refused
 *   4. known: tools.allow (globs), the catalog, an operator's approval, a registered server's
 *      auto-approve, or tools.default = "allow"; otherwise queued for approval → hidden / refused
 *   5. pinned definition changed (description or inputSchema) → hidden / refused until re-approved
 */
import type { CompiledPolicyPayload } from "../policy/types.ts";
import { type ToolStore, toolHash } from "./discovery.ts";
import type { Tool } from "./types.ts";

export interface ToolDecision {
  allow: boolean;
  /** Short machine code: tools_denied, forbidden_capability, operator_denied, not_approved, tool_changed. */
  code?: string;
  /** One sentence the model (and the operator) can read. */
  reason?: string;
}

const globCache = new Map<string, RegExp>();
export function globMatch(pattern: string, name: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    globCache.set(pattern, re);
  }
  return re.test(name);
}

export interface DecideOptions {
  policy: CompiledPolicyPayload;
  store: ToolStore;
  server: string;
  /** The registered server opted in to auto-approve. */
  autoApprove?: boolean;
}

export function decideTool(o: DecideOptions, tool: Tool): ToolDecision {
  const { policy, store, server } = o;
  const name = tool.name;
  const t = policy.tools;
  const denyGlob = t.deny.find((g) => globMatch(g, name));
  if (denyGlob) return { allow: false, code: "tools_denied", reason: `TapPass policy denies the tool "${name}" (tools.deny: ${denyGlob}).` };
  const entry = t.catalog[name];
  const forbidden = new Set([...policy.identity.forbidden_capabilities, ...t.denied_capabilities]);
  const bad = entry?.capabilities.find((c) => forbidden.has(c));
  if (bad) return { allow: false, code: "forbidden_capability", reason: `TapPass policy forbids the capability "${bad}" that the tool "${name}" exercises.` };

  const hash = toolHash(tool);
  const byPolicy = !!entry || t.allow.some((g) => globMatch(g, name));
  let row = store.get(name);
  if (row?.status === "denied") return { allow: false, code: "operator_denied", reason: `An operator denied the tool "${name}" (tappass tools deny).` };

  const known = byPolicy || row?.status === "approved" || !!o.autoApprove || t.default === "allow";
  if (!row || row.seen_hash !== hash) row = store.observe(server, tool, hash, known ? "seen" : "pending", known);
  if (!known && row.status !== "approved") {
    return {
      allow: false,
      code: "not_approved",
      reason: `The tool "${name}" from MCP server "${server}" is not in this agent's tool catalog; TapPass queued it for review (an operator can run: tappass tools approve ${name}).`,
    };
  }
  if (o.autoApprove && row.status === "pending") store.autoApprove(name, server);
  if (row.pinned_hash === null) {
    store.pin(name, hash);
    return { allow: true };
  }
  if (row.pinned_hash !== hash) {
    return {
      allow: false,
      code: "tool_changed",
      reason: `The tool "${name}" changed its description or input schema since it was approved (possible tool poisoning); TapPass blocks it until an operator reviews it and runs: tappass tools approve ${name}.`,
    };
  }
  return { allow: true };
}

/** One page of tools/list, filtered by decideTool. */
export function filterTools(o: DecideOptions, tools: Tool[]): Tool[] {
  return tools.filter((t) => decideTool(o, t).allow);
}
