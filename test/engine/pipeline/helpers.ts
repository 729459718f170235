import { ensureKeys, loadKeys, type Keys } from "../../../src/engine/crypto/keys.ts";
import { issueToken } from "../../../src/engine/crypto/tokens.ts";
import { openState } from "../../../src/engine/store/state.ts";
import type { Db } from "../../../src/engine/store/db.ts";
import { createPipeline } from "../../../src/engine/pipeline/index.ts";
import type { CompiledPolicyPayload } from "../../../src/engine/policy/types.ts";
import type { CallInit, Pipeline } from "../../../src/engine/pipeline/types.ts";
import { tempHome } from "../../helpers/home.ts";
import { signedEnvelope } from "../../helpers/policy.ts";

export interface Env {
  home: string;
  db: Db;
  keys: Keys;
  cleanup: () => void;
  pipeline(payload: CompiledPolicyPayload): Pipeline;
  token(agent?: string, session?: string, ttl?: number): Promise<string>;
}

export async function pipelineEnv(): Promise<Env> {
  const t = tempHome();
  const db = openState(t.home, { create: true });
  await ensureKeys(t.home);
  const keys = loadKeys(t.home);
  return {
    home: t.home,
    db,
    keys,
    cleanup: t.cleanup,
    pipeline: (payload) => createPipeline({ envelope: signedEnvelope(payload, keys), db, keys }),
    token: (agent = "mailer", session = "sess-1", ttl = 300) => issueToken(keys, { agent, session_id: session, ttlSeconds: ttl }),
  };
}

/** An OpenAI-style chat call as the gateway would describe it. */
export function llmCall(token: string, text: string, over: Partial<CallInit> = {}): CallInit {
  return {
    surface: "llm",
    agent: "mailer",
    session_id: "sess-1",
    token,
    model: "gpt-4o-mini",
    provider: "openai",
    request: [
      { path: "messages.0.content", kind: "system", role: "system", text: "You are a support assistant for Acme. Answer politely." },
      { path: "messages.1.content", kind: "prompt", role: "user", text },
    ],
    ...over,
  };
}

/** An MCP tools/call as the broker would describe it. */
export function mcpCall(token: string, name: string, args: Record<string, unknown>, over: Partial<CallInit> = {}): CallInit {
  return {
    surface: "mcp",
    agent: "mailer",
    session_id: "sess-1",
    token,
    request: [],
    tool_calls: [{ id: "call-1", name, server: "acme-tools", arguments: args, origin: "mcp" }],
    ...over,
  };
}
