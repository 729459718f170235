/**
 * monty (a sandboxed Python interpreter for agent code): the host-function manifest and
 * resource limits from the interpreter aspect.
 */
import type { Provider } from "./types.ts";
import { json } from "./util.ts";

export const monty: Provider = {
  id: "monty",
  description: "monty interpreter host-function manifest and limits",
  render(policy) {
    const i = policy.interpreter;
    return [
      {
        path: "monty/manifest.json",
        content: json({
          agent: policy.agent,
          policy_version: policy.policy_version,
          external_functions: [...i.host_functions].sort(),
          limits: { max_memory_bytes: i.memory_mb * 1024 * 1024, max_duration_ms: i.cpu_time_ms, max_recursion_depth: 200 },
          filesystem: "none",
          network: "none",
        }),
      },
    ];
  },
};
