/**
 * Codex CLI: config.toml (the gateway as model provider, sandbox mode, approval policy, MCP
 * servers through the broker with enabled/disabled tools) and requirements.toml (what a user
 * may not loosen).
 */
import type { CompiledPolicyPayload } from "../engine/policy/types.ts";
import { toToml, type TomlTable } from "./toml.ts";
import type { Provider, RenderCapabilities } from "./types.ts";
import { CLAUDE_BUILTIN_TOOLS, allowedDomains, expandPath, uniq } from "./util.ts";

/**
 * Codex's own sandbox mode. Under TapPass's kernel ring (exec), Codex's nested sandbox cannot
 * start inside the network namespace and would only duplicate the ring, so the ring is the
 * sandbox: "danger-full-access" inside an already-confined process.
 */
function sandboxMode(policy: CompiledPolicyPayload, caps: Pick<RenderCapabilities, "kernelRing">): "read-only" | "workspace-write" | "danger-full-access" {
  if (caps.kernelRing) return "danger-full-access";
  return policy.filesystem.read_write.length === 0 && policy.pipeline.mode === "lockdown" ? "read-only" : "workspace-write";
}

function mcpTools(policy: CompiledPolicyPayload, server: string) {
  const strip = (n: string) => (n.startsWith(`${server}/`) ? n.slice(server.length + 1) : n.includes("/") ? undefined : n);
  // Harness built-ins (Bash, Read, …) are not MCP tools.
  const list = (xs: string[]) => uniq(xs.filter((x) => !CLAUDE_BUILTIN_TOOLS.has(x)).map(strip).filter((x): x is string => !!x && x !== "*")).sort();
  return { enabled: list(policy.tools.allow), disabled: list(policy.tools.deny) };
}

export function codexConfig(policy: CompiledPolicyPayload, caps: RenderCapabilities): TomlTable {
  const cfg: TomlTable = {
    approval_policy: "never",
    sandbox_mode: sandboxMode(policy, caps),
  };
  if (caps.gatewayUrl) {
    cfg.model_provider = "tappass";
    cfg.model_providers = {
      tappass: { name: "TapPass gateway", base_url: `${caps.gatewayUrl}/v1`, env_key: "OPENAI_API_KEY", wire_api: "responses" },
    };
  }
  cfg.sandbox_workspace_write = {
    network_access: allowedDomains(policy).length > 0,
    writable_roots: uniq([caps.workspace, ...policy.filesystem.read_write.map((p) => expandPath(p, caps))]).sort(),
    exclude_slash_tmp: false,
  };
  cfg.shell_environment_policy = { inherit: "core", exclude: ["*_KEY", "*_SECRET", "*_TOKEN", "AWS_*"] };
  const servers = Object.entries(caps.mcpServers ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (servers.length > 0) {
    cfg.mcp_servers = Object.fromEntries(
      servers.map(([name, s]) => {
        const { enabled, disabled } = mcpTools(policy, name);
        const base: TomlTable = "command" in s ? { command: s.command, args: s.args } : { url: s.url };
        if (policy.tools.default === "deny" || enabled.length > 0) base.enabled_tools = enabled;
        if (disabled.length > 0) base.disabled_tools = disabled;
        return [name, base];
      }),
    );
  }
  return cfg;
}

export const codex: Provider = {
  id: "codex",
  description: "Codex CLI config.toml (gateway provider, sandbox, MCP via broker) and requirements.toml",
  render(policy, caps) {
    const requirements: TomlTable = {
      allowed_approval_policies: ["never", "on-request"],
      allowed_sandbox_modes: caps.kernelRing ? ["danger-full-access"] : sandboxMode(policy, caps) === "read-only" ? ["read-only"] : ["read-only", "workspace-write"],
    };
    return [
      { path: "codex/config.toml", content: `# Rendered by TapPass from policy v${policy.policy_version} for agent ${policy.agent}\n${toToml(codexConfig(policy, caps))}` },
      { path: "codex/requirements.toml", content: `# Rendered by TapPass: settings a user may not loosen\n${toToml(requirements)}` },
    ];
  },
};
