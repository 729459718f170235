/**
 * The environment the governed command gets: the operator's environment minus every provider
 * credential, plus a capability token in their place and the local endpoints. The agent never
 * sees a provider key.
 */

/** Variables that carry credentials and never reach the agent. */
const SECRET_ENV = [
  /^ANTHROPIC_API_KEY$/, /^ANTHROPIC_AUTH_TOKEN$/, /^OPENAI_API_KEY$/, /^OPENAI_ORG(ANIZATION)?(_ID)?$/, /^AZURE_OPENAI_API_KEY$/, /^GEMINI_API_KEY$/, /^GOOGLE_API_KEY$/,
  /^MISTRAL_API_KEY$/, /^COHERE_API_KEY$/, /^GROQ_API_KEY$/, /^HF_TOKEN$/, /^HUGGING_FACE_HUB_TOKEN$/, /^AWS_(SECRET_ACCESS_KEY|SESSION_TOKEN|ACCESS_KEY_ID)$/,
  /^GITHUB_TOKEN$/, /^GH_TOKEN$/, /^NPM_TOKEN$/, /^CLAUDE_CODE_OAUTH_TOKEN$/, /_API_KEY$/, /_SECRET(_KEY)?$/, /^TAPPASS_(SELF|PERSONA_NAME|HOME)$/,
];

export function isSecretEnv(name: string): boolean {
  return SECRET_ENV.some((r) => r.test(name));
}

export interface GovernedEnvInput {
  base: NodeJS.ProcessEnv;
  token: string;
  gatewayUrl: string;
  hookUrl: string;
  agent: string;
  sessionId: string;
  sandboxId: string | null;
  policyFile: string;
  extra?: Record<string, string>;
}

export function governedEnv(i: GovernedEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.base)) if (v !== undefined && !isSecretEnv(k)) env[k] = v;
  Object.assign(env, {
    ANTHROPIC_BASE_URL: i.gatewayUrl,
    ANTHROPIC_API_KEY: i.token,
    OPENAI_BASE_URL: `${i.gatewayUrl}/v1`,
    OPENAI_API_KEY: i.token,
    GOOGLE_GEMINI_BASE_URL: i.gatewayUrl,
    GEMINI_API_KEY: i.token,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    ENABLE_TOOL_SEARCH: "false",
    TAPPASS_AGENT: i.agent,
    TAPPASS_SESSION_ID: i.sessionId,
    TAPPASS_TOKEN: i.token,
    TAPPASS_HOOK_URL: i.hookUrl,
    TAPPASS_GATEWAY_URL: i.gatewayUrl,
    TAPPASS_POLICY_FILE: i.policyFile,
    ...(i.sandboxId ? { TAPPASS_SANDBOX_ID: i.sandboxId } : {}),
    ...i.extra,
  });
  return env;
}
