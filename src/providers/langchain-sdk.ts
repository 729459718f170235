/**
 * LangChain / SDK runtime config: a JSON document an agent SDK reads at start-up — where the
 * gateway is, which tools it may bind, argument constraints, budgets — so in-process agents
 * enforce the same policy before a call ever leaves.
 */
import type { Provider } from "./types.ts";
import { json } from "./util.ts";

export const langchainSdk: Provider = {
  id: "langchain-sdk",
  description: "JSON runtime config for LangChain / SDK agents",
  render(policy, caps) {
    const t = policy.tools;
    return [
      {
        path: "langchain-sdk/tappass.runtime.json",
        content: json({
          schema: "tappass.runtime/v1",
          agent: policy.agent,
          policy_version: policy.policy_version,
          expires_at: policy.expires_at,
          gateway: caps.gatewayUrl ? { openai_base_url: `${caps.gatewayUrl}/v1`, anthropic_base_url: caps.gatewayUrl, api_key_env: "TAPPASS_TOKEN" } : null,
          tools: { default: t.default, allow: [...t.allow].sort(), deny: [...t.deny].sort(), constraints: t.constraints.map(({ because: _b, ...c }) => c) },
          budget: policy.budget,
          mode: policy.pipeline.mode,
        }),
      },
    ];
  },
};
