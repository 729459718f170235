/**
 * The agent side of the hook/policy channel: ask the governor (a loopback HTTP endpoint started
 * by `tappass exec` or `tappass hook serve`) with the agent's capability token. The agent holds
 * no signing key and writes no state, so every decision and audit row is made by the governor.
 */
import { readFileSync } from "node:fs";
import { TapPassError } from "../errors.ts";
import type { CompiledPolicyEnvelope } from "../policy/types.ts";
import type { AgentEnv } from "./agent-env.ts";

export async function askGovernor(env: AgentEnv, path: string, body?: unknown, timeoutMs = 8000, sessionSecret = process.env.TAPPASS_SESSION_SECRET): Promise<unknown> {
  if (!env.hook_url || !env.token) {
    throw new TapPassError("no_governor", "no TapPass governor for this agent (TAPPASS_HOOK_URL / TAPPASS_TOKEN unset)", 3, {
      hint: "run the agent under `tappass exec -- …`, or start `tappass hook serve --agent NAME` and export what it prints",
    });
  }
  const signal = AbortSignal.timeout(timeoutMs);
  const ask = async (token: string) => {
    const res = await fetch(`${env.hook_url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    return { res, json: (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined };
  };
  let { res, json } = await ask(env.token);
  // The token in the agent's environment is short-lived; a session that outlives it renews one
  // with its session secret (as Claude Code's apiKeyHelper does) and asks again.
  if (res.status === 401 && json?.error?.code === "token_expired" && sessionSecret) ({ res, json } = await ask(await renewToken(env, sessionSecret, timeoutMs)));
  if (!res.ok) throw new TapPassError(json?.error?.code ?? "governor_error", `governor answered ${res.status}: ${json?.error?.message ?? ""}`, 1);
  return json;
}

/** The envelope the agent runs under: from the governor, else the read-only policy file. */
export async function currentEnvelope(env: AgentEnv): Promise<CompiledPolicyEnvelope> {
  if (env.hook_url && env.token) return (await askGovernor(env, "/policy")) as CompiledPolicyEnvelope;
  if (env.policy_file) {
    try {
      return JSON.parse(readFileSync(env.policy_file, "utf8")) as CompiledPolicyEnvelope;
    } catch (e) {
      throw new TapPassError("policy_unreadable", `cannot read ${env.policy_file}: ${(e as Error).message}`, 3, { where: env.policy_file });
    }
  }
  throw new TapPassError("no_policy", "this process has no TapPass policy (TAPPASS_HOOK_URL or TAPPASS_POLICY_FILE unset)", 3, {
    hint: "run the agent under `tappass exec -- …`",
  });
}

/** A fresh capability token for this session (Claude Code's apiKeyHelper calls this). */
export async function renewToken(env: AgentEnv, secret: string | undefined, timeoutMs = 8000): Promise<string> {
  if (!env.hook_url || !secret) {
    throw new TapPassError("no_governor", "no TapPass governor session to renew a token from (TAPPASS_HOOK_URL / TAPPASS_SESSION_SECRET unset)", 3, {
      hint: "run the agent under `tappass exec -- …`",
    });
  }
  const res = await fetch(`${env.hook_url}/token`, { method: "POST", headers: { "x-tappass-session-secret": secret }, signal: AbortSignal.timeout(timeoutMs) });
  const j = (await res.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!res.ok || !j.token) throw new TapPassError("token_invalid", `governor refused to renew the token: ${j.error?.message ?? res.status}`, 1);
  return j.token;
}
