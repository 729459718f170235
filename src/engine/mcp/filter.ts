/**
 * The one tool decision the broker applies both to tools/list (what the client may see) and to
 * tools/call (what it may run), so no path shows more than it lets through:
 *
 *   1. tools.deny (globs)                                  → hidden / refused
 *   2. a capability the catalog gives the tool is in identity.forbidden_capabilities
 *      or tools.denied_capabilities                        → hidden / refused
 *   3. an operator ran `tappass tools deny NAME`           → hidden / refused
 *   4. known = tools.allow (globs), an operator's approval, a registered server's auto-approve,
 *      or tools.default = "allow"; otherwise queued for approval → hidden / refused. Being in the
 *      tool catalog is NOT permission: the catalog describes every tool TapPass knows (its
 *      capabilities and slots), allowed or not. Under lockdown only tools.allow counts, as in
 *      the pipeline's tools_allowed step.
 * Names are matched in every form the pipeline's tool steps use (NAME, mcp__SERVER__NAME,
 * SERVER/NAME), so the list never shows a tool the pipeline would refuse by name.
 *   5. pinned definition (../pipeline/pins.ts) changed     → hidden / refused until re-approved;
 *      a known tool seen for the first time is pinned as advertised
 */
import { checkPin, pinTool } from "../pipeline/pins.ts";
import { catalogEntry, toolNames } from "../pipeline/steps/_tools.ts";
import type { CompiledPolicyPayload } from "../policy/types.ts";
import { type ToolStore, toolHash } from "./discovery.ts";
import type { Tool } from "./types.ts";

export interface ToolDecision {
  allow: boolean;
  /** tools_denied · forbidden_capability · operator_denied · not_approved · tool_changed */
  code?: string;
  /** One sentence the model (and the operator) can read. */
  reason?: string;
  /** The tool is allowed because an operator (or a registered server) approved it at run time. */
  approved?: boolean;
}

const globCache = new Map<string, RegExp>();
export function globMatch(pattern: string, name: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s");
    globCache.set(pattern, re);
  }
  return re.test(name);
}

const firstGlob = (patterns: readonly string[], names: string[]) => {
  for (const n of names) for (const p of patterns) if (globMatch(p, n)) return p;
  return undefined;
};

export interface DecideOptions {
  policy: CompiledPolicyPayload;
  store: ToolStore;
  server: string;
  /** The registered server opted in to auto-approve. */
  autoApprove?: boolean;
}

export function decideTool(o: DecideOptions, tool: Tool, hash = toolHash(tool)): ToolDecision {
  const { policy, store, server } = o;
  const name = tool.name;
  const t = policy.tools;
  const call = { name, server, arguments: {}, origin: "mcp" as const };
  const names = toolNames(call);
  const denyGlob = firstGlob(t.deny, names);
  if (denyGlob) return { allow: false, code: "tools_denied", reason: `TapPass policy denies the tool "${name}" (tools.deny: ${denyGlob}).` };
  const entry = catalogEntry(policy, call);
  const forbidden = new Set([...policy.identity.forbidden_capabilities, ...t.denied_capabilities]);
  const bad = entry?.capabilities.find((c) => forbidden.has(c));
  if (bad) return { allow: false, code: "forbidden_capability", reason: `TapPass policy forbids the capability "${bad}", which the tool "${name}" exercises.` };

  const byPolicy = firstGlob(t.allow, names) !== undefined;
  let row = store.get(server, name);
  if (row?.status === "denied") return { allow: false, code: "operator_denied", reason: `An operator denied the tool "${name}" (tappass tools deny ${name}).` };
  const lockdown = policy.pipeline.mode === "lockdown";
  const known = byPolicy || (!lockdown && (t.default === "allow" || !!o.autoApprove || row?.status === "approved"));
  if (!row || row.seen_hash !== hash) row = store.observe(server, tool, hash, known && !o.autoApprove ? "seen" : "pending");
  if (o.autoApprove && row.status === "pending") store.autoApprove(server, tool);
  if (!known) {
    return {
      allow: false,
      code: "not_approved",
      reason: lockdown
        ? `The tool "${name}" from MCP server "${server}" is not on this agent's allow list and the policy is in lockdown, which ignores run-time approvals.`
        : `The tool "${name}" from MCP server "${server}" is not on this agent's allow list; TapPass queued it for review (an operator can run: tappass tools approve ${name}).`,
    };
  }
  const pin = checkPin(store.db, server, tool);
  if (pin.status === "unpinned") {
    pinTool(store.db, server, tool, row.status === "approved" ? (row.decided_by ?? "operator") : byPolicy ? "policy" : "first-use"); // notes the change (toolStateChanged)
  } else if (pin.status === "changed") {
    return {
      allow: false,
      code: "tool_changed",
      reason: `The tool "${name}" changed its ${pin.changed.join(" and ")} since it was approved (possible tool poisoning); TapPass blocks it until an operator reviews it and runs: tappass tools approve ${name}.`,
    };
  }
  return { allow: true, approved: !byPolicy && (row.status === "approved" || !!o.autoApprove) };
}

/** One page of tools/list, filtered by decideTool. */
export function filterTools(o: DecideOptions, tools: Tool[]): Tool[] {
  return tools.filter((t) => decideTool(o, t).allow);
}
