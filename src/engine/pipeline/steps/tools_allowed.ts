/**
 * tools_allowed: a tool must be on tools.allow (names or globs). A tool on neither list follows
 * tools.default; with "deny" it is refused until an operator approves it: an MCP tool approved
 * with `tappass tools approve NAME` (or by a registered server's auto-approve) is allowed, read
 * from the discovery queue (mcp_tools) at call time. An approval never lifts tools.deny, a denied
 * or forbidden capability (those still refuse, here and in their own steps), nor lockdown, which
 * denies every tool the signed policy does not list whatever the default or the approvals.
 */
import type { StepDef } from "../types.ts";
import { anyGlob, isLockdown, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";
import { catalogEntry, operatorApproval, toolNames } from "./_tools.ts";

const step: StepDef = {
  name: "tools_allowed",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const t = env.policy.tools;
    const lockdown = isLockdown(env);
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    const approved: Array<{ tool: string; server: string; decided_by: string | null }> = [];
    for (const call of calls) {
      const names = toolNames(call);
      if (names.some((n) => anyGlob(t.allow, n))) continue;
      if (t.default === "allow" && !lockdown) continue;
      if (!lockdown && !names.some((n) => anyGlob(t.deny, n))) {
        const forbidden = new Set([...env.policy.identity.forbidden_capabilities, ...t.denied_capabilities]);
        const caps = catalogEntry(env.policy, call)?.capabilities ?? [];
        const a = caps.some((c) => forbidden.has(c)) ? undefined : operatorApproval(env.db, call);
        if (a) {
          approved.push({ tool: a.name, server: a.server, decided_by: a.decided_by });
          continue;
        }
      }
      // an MCP tool is approved at run time; any other tool is granted in the agent's policy
      const mcp = call.origin === "mcp" || !!call.server || call.name.startsWith("mcp__");
      const how = mcp ? `approve it with \`tappass tools approve ${call.name}\`` : `grant it in the agent's policy (tools: { grant: [${call.name}] }, then \`tappass policy apply --level agent=${ctx.agent} FILE\`)`;
      hits.push({ call, reason: `tool "${call.name}" is not on the allow list for agent ${ctx.agent} — ${how}` });
    }
    const r = toolVerdict(step.name, env, hits, calls.length);
    return approved.length ? { ...r, evidence: { ...(r.evidence ?? {}), operator_approved: approved } } : r;
  },
};
export default step;
