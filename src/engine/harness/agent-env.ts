/**
 * What an agent process knows about itself: the environment `tappass exec` (or
 * `tappass-host start`) gives it. Read-only; the agent persona never writes state.
 */
export interface AgentEnv {
  agent?: string;
  session_id?: string;
  sandbox_id?: string | null;
  /** The governor's hook/policy endpoint. */
  hook_url?: string;
  /** The agent's capability token. */
  token?: string;
  /** A signed Compiled Policy envelope on disk (read-only to the agent). */
  policy_file?: string;
  gateway_url?: string;
}

export function agentEnv(env: NodeJS.ProcessEnv = process.env): AgentEnv {
  return {
    agent: env.TAPPASS_AGENT,
    session_id: env.TAPPASS_SESSION_ID,
    sandbox_id: env.TAPPASS_SANDBOX_ID ?? null,
    hook_url: env.TAPPASS_HOOK_URL,
    token: env.TAPPASS_TOKEN,
    policy_file: env.TAPPASS_POLICY_FILE,
    gateway_url: env.TAPPASS_GATEWAY_URL,
  };
}
