/**
 * Claude Code's PreToolUse hook, decided by the one pipeline (surface "hook").
 * Input (stdin JSON): { session_id, tool_name, tool_input, cwd, hook_event_name, mcp_server? … }
 * Output: { hookSpecificOutput: { hookEventName: "PreToolUse", permissionDecision, permissionDecisionReason } }
 */
import { requestSegments } from "../mcp/segments.ts";
import type { GovernedCall, Pipeline, ToolCall } from "../pipeline/types.ts";

export interface ClaudeHookInput {
  session_id?: string;
  tool_name?: string;
  tool_input?: Record<string, unknown>;
  cwd?: string;
  hook_event_name?: string;
  mcp_server?: string;
  transcript_path?: string;
}

export interface HookDecision {
  decision: "allow" | "deny";
  reason: string;
  trace_id?: string;
  step?: string;
}

export function claudeHookOutput(d: HookDecision) {
  return {
    hookSpecificOutput: {
      hookEventName: "PreToolUse",
      permissionDecision: d.decision,
      permissionDecisionReason: d.reason,
    },
  };
}

/** Claude names MCP tools mcp__<server>__<tool>; the policy speaks of the tool (and its server). */
export function toolCallFromHook(input: ClaudeHookInput): ToolCall {
  const name = String(input.tool_name ?? "");
  const m = /^mcp__(.+?)__(.+)$/.exec(name);
  return {
    name: m ? (m[2] as string) : name,
    server: m ? (m[1] as string) : input.mcp_server,
    arguments: input.tool_input && typeof input.tool_input === "object" ? input.tool_input : {},
    origin: "hook",
  };
}

/** Run the pipeline on one hook call and write its audit row. Never throws: errors deny. */
export async function decideClaudeHook(
  pipeline: Pipeline,
  input: ClaudeHookInput,
  ctx: { agent: string; sandbox_id?: string | null; harness?: string },
): Promise<HookDecision> {
  if (!input.tool_name) return { decision: "deny", reason: "TapPass: hook input has no tool_name; denied (fail closed)" };
  const call = toolCallFromHook(input);
  let started: GovernedCall | undefined;
  try {
    const gc = pipeline.begin({
      surface: "hook",
      agent: ctx.agent,
      sandbox_id: ctx.sandbox_id ?? null,
      session_id: input.session_id ?? "unknown-session",
      tool_calls: [call],
      // argument text the detectors should see (commands, file contents, URLs…)
      request: requestSegments({ tool_input: call.arguments }),
      meta: { tool: input.tool_name, harness: ctx.harness ?? "claude-code", cwd: input.cwd },
    });
    started = gc;
    const v = await gc.run("before_call");
    const removed = gc.ctx.tool_calls[0]?.removed;
    const row = await gc.finish();
    if (v.decision === "deny" || removed) {
      const step = v.denied_by?.step ?? removed?.step ?? "policy";
      const why = v.denied_by?.reason ?? removed?.reason ?? "denied by policy";
      return { decision: "deny", reason: `TapPass denied ${input.tool_name} (${step}): ${why} [trace ${row.trace_id}]`, trace_id: row.trace_id, step };
    }
    return { decision: "allow", reason: `TapPass allowed ${input.tool_name} [trace ${row.trace_id}]`, trace_id: row.trace_id };
  } catch (e) {
    const trace = started ? await started.finish().then((r) => r.trace_id).catch(() => undefined) : undefined;
    return { decision: "deny", reason: `TapPass could not evaluate ${input.tool_name}: ${(e as Error).message}; denied (fail closed)`, trace_id: trace };
  }
}
