/**
 * tool_pinning: the first time an approved tool is seen, the hash of its name, description and
 * inputSchema is pinned (../pins.ts); if the server later advertises something else — a
 * "rug pull" that rewrites the description to smuggle instructions — the tool is denied until
 * someone approves it again. Tools the caller gave no advertisement for pass (lockdown denies).
 */
import { checkPin, pinTool } from "../pins.ts";
import type { StepDef } from "../types.ts";
import { isLockdown, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";

const step: StepDef = {
  name: "tool_pinning",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    const pinned: string[] = [];
    for (const call of calls) {
      const ad = ctx.tool_schemas?.[call.name];
      if (!ad) {
        if (isLockdown(env)) hits.push({ call, reason: `tool "${call.name}" has no advertised definition to check against its pin (lockdown)` });
        continue;
      }
      const server = call.server ?? "local";
      const advert = { name: call.name, description: ad.description, inputSchema: ad.inputSchema };
      const pin = checkPin(env.db, server, advert);
      if (pin.status === "unpinned") {
        pinTool(env.db, server, advert, "first-use");
        pinned.push(call.name);
      } else if (pin.status === "changed") {
        hits.push({
          call,
          reason: `tool "${call.name}" on ${server} changed its ${pin.changed.join(" and ")} since it was approved — re-approve it with \`tappass tools approve ${call.name}\``,
          detail: { pinned_hash: pin.pinned_hash.slice(0, 12), hash: pin.hash.slice(0, 12), changed: pin.changed },
        });
      }
    }
    const r = toolVerdict(step.name, env, hits, calls.length);
    return pinned.length ? { ...r, evidence: { ...(r.evidence ?? {}), pinned } } : r;
  },
};
export default step;
