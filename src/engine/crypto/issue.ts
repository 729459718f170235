/** `tappass token issue`: a capability token for a known agent. */
import { loadKeys } from "./keys.ts";
import { issueToken, parseTtl } from "./tokens.ts";
import { openState } from "../store/state.ts";
import { inputError, usageError } from "../errors.ts";
import { maxTokenTtl } from "./ttl.ts";

export async function issueAgentToken(opts: { agent: string; ttl: string; session_id?: string }) {
  const db = openState();
  const known = agentExists(db, opts.agent);
  if (known === false) throw inputError("unknown_agent", `no agent named "${opts.agent}"`, { hint: "create it with `tappass agent create NAME --project P`" });
  const ttlSeconds = parseTtl(opts.ttl);
  if (ttlSeconds < 1) throw usageError(`--ttl ${opts.ttl}: a token must live at least 1 s`, { hint: "e.g. --ttl 5m" });
  if (known) {
    // a token the agent's policy would refuse is no credential: say so now, not at its first call
    const { effectiveAspects } = await import("../policy/index.ts");
    const max = maxTokenTtl(effectiveAspects(db, opts.agent));
    if (ttlSeconds > max) {
      throw inputError("ttl_above_policy", `--ttl ${opts.ttl} (${ttlSeconds} s) is longer than agent ${opts.agent}'s policy accepts (${max} s, verify_capability_token max_ttl_s)`, {
        hint: `use --ttl ${max}s or less, or raise max_ttl_s in the policy`,
      });
    }
  }
  const token = await issueToken(loadKeys(), { agent: opts.agent, session_id: opts.session_id, ttlSeconds });
  return { token, agent: opts.agent, expires_in: ttlSeconds };
}

/** true/false when the registry knows, undefined before the agents table exists. */
function agentExists(db: ReturnType<typeof openState>, name: string): boolean | undefined {
  const t = db.prepare<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'agents'").get();
  if (!t?.n) return undefined;
  return !!db.prepare("SELECT 1 AS x FROM agents WHERE name = ?").get(name);
}
