/**
 * Gemini CLI's BeforeTool hook, decided by the same pipeline as Claude Code's (surface "hook").
 * Input (stdin JSON): { session_id, cwd, hook_event_name: "BeforeTool", tool_name, tool_input,
 *   mcp_context?: { server_name, tool_name } }
 * Output: { decision: "allow" } or { decision: "deny", reason } — Gemini hands the reason to the
 * model as the tool's error, and the turn goes on.
 */
import type { Pipeline } from "../pipeline/types.ts";
import { type HookDecision, decideClaudeHook } from "./claude-hook.ts";

export interface GeminiHookInput {
  session_id?: string;
  cwd?: string;
  hook_event_name?: string;
  tool_name?: string;
  tool_input?: Record<string, unknown>;
  mcp_context?: { server_name?: string; tool_name?: string };
}

export function geminiHookOutput(d: HookDecision) {
  return d.decision === "deny" ? { decision: "deny", reason: d.reason } : { decision: "allow" };
}

/** Run the pipeline on one BeforeTool call and write its audit row. Never throws: errors deny. */
export function decideGeminiHook(pipeline: Pipeline, input: GeminiHookInput, ctx: { agent: string; sandbox_id?: string | null }): Promise<HookDecision> {
  const mcp = input.mcp_context?.server_name && input.mcp_context.tool_name ? input.mcp_context : undefined;
  return decideClaudeHook(
    pipeline,
    {
      session_id: input.session_id,
      cwd: input.cwd,
      hook_event_name: input.hook_event_name,
      // an MCP tool in the policy's own naming: mcp__server__tool
      tool_name: mcp ? `mcp__${mcp.server_name}__${mcp.tool_name}` : input.tool_name,
      tool_input: input.tool_input,
    },
    { ...ctx, harness: "gemini-cli" },
  );
}
