/**
 * The governor's hook endpoint. Hooks run inside the agent's sandbox, where state is
 * read-only; they ask the governor (this loopback server) instead, authenticated with the
 * agent's capability token. The governor runs the pipeline and writes the audit row.
 *   POST /hook/claude-code   body: Claude's PreToolUse JSON → Claude's hookSpecificOutput JSON
 *   POST /hook/gemini        body: Gemini CLI's BeforeTool JSON → { decision, reason }
 *   GET  /policy             the signed Compiled Policy envelope the agent runs under
 *   POST /token              a fresh short-lived capability token for this session, against the
 *                            session secret (x-tappass-session-secret) the governor handed the agent
 */
import { timingSafeEqual } from "node:crypto";
import type { Keys } from "../crypto/keys.ts";
import { verifyToken } from "../crypto/tokens.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import type { Pipeline } from "../pipeline/types.ts";
import { type HookDecision, claudeHookOutput, decideClaudeHook } from "./claude-hook.ts";
import { decideGeminiHook, geminiHookOutput } from "./gemini-hook.ts";

export interface HookServer {
  url: string;
  port: number;
  decisions: HookDecision[];
  close(): Promise<void>;
}

export interface HookServerOptions {
  pipeline: Pipeline;
  envelope: CompiledPolicyEnvelope;
  keys: Keys;
  agent: string;
  sandbox_id?: string | null;
  port?: number;
  /** Token renewal for long sessions: the session secret and how to mint a token. */
  renew?: { secret: string; issue: () => Promise<string> };
}

/** Each harness's hook: its input decided by the one pipeline, the answer in its own format. */
const HOOKS: Record<string, { decide: typeof decideClaudeHook | typeof decideGeminiHook; output: (d: HookDecision) => unknown }> = {
  "/hook/claude-code": { decide: decideClaudeHook, output: claudeHookOutput },
  "/hook/gemini": { decide: decideGeminiHook, output: geminiHookOutput },
};

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function startHookServer(opts: HookServerOptions): HookServer {
  const decisions: HookDecision[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/token") {
        const presented = req.headers.get("x-tappass-session-secret") ?? "";
        if (!opts.renew || !sameSecret(presented, opts.renew.secret)) return Response.json({ error: { code: "token_invalid", message: "unknown session secret" } }, { status: 401 });
        return Response.json({ token: await opts.renew.issue() });
      }
      const token = (req.headers.get("authorization") ?? "").replace(/^Bearer\s+/i, "");
      try {
        const claims = await verifyToken(opts.keys, token);
        if (claims.sub !== opts.agent) return Response.json({ error: { code: "token_invalid", message: "token is for another agent" } }, { status: 401 });
      } catch (e) {
        return Response.json({ error: { code: (e as { code?: string }).code ?? "token_invalid", message: (e as Error).message } }, { status: 401 });
      }
      if (req.method === "GET" && url.pathname === "/policy") return Response.json(opts.envelope);
      const hook = req.method === "POST" ? HOOKS[url.pathname] : undefined;
      if (hook) {
        let input: unknown;
        try {
          input = await req.json();
        } catch {
          return Response.json(hook.output({ decision: "deny", reason: "TapPass: hook input is not JSON; denied" }));
        }
        const d = await hook.decide(opts.pipeline, input as never, { agent: opts.agent, sandbox_id: opts.sandbox_id });
        decisions.push(d);
        return Response.json(hook.output(d), { headers: d.trace_id ? { "x-tappass-trace-id": d.trace_id } : {} });
      }
      return Response.json({ error: { code: "not_found", message: `${req.method} ${url.pathname}` } }, { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    decisions,
    close: async () => {
      await server.stop(true);
    },
  };
}
