/**
 * Claude Code: managed-style settings (permission rules in Claude Code's own syntax, hook,
 * lock-down switches, MCP allow-list, env) and an MCP config whose servers go through the broker.
 * Hooks alone are skippable (`--bare`), so the deny rules here and the kernel ring must each hold
 * without them.
 */
import type { CompiledPolicyPayload } from "../engine/policy/types.ts";
import type { Provider, RenderCapabilities, RenderedFile } from "./types.ts";
import { CLAUDE_BUILTIN_TOOLS, allowedDomains, deniedPaths, json, shellJoin, uniq } from "./util.ts";

/**
 * "/abs/path" → Claude's absolute-path rule forms: a glob or a name that is plainly a file as it
 * is ("//abs/file"); anything else both as the path and as a directory ("//etc/sudoers" and
 * "//etc/sudoers/**"), since a name without an extension may be either.
 */
function pathRules(p: string): string[] {
  const abs = p.startsWith("/") ? `/${p}` : p;
  return /[*?]/.test(p) || /\.[A-Za-z0-9]+$/.test(p) || /id_[a-z0-9]+$|shadow$|credentials$/.test(p) ? [abs] : [abs, `${abs}/**`];
}

function mcpRule(name: string, servers: string[]): string[] {
  if (name.startsWith("mcp__")) return [name];
  const [server, tool] = name.includes("/") ? (name.split("/", 2) as [string, string]) : [undefined, name];
  if (server) return [`mcp__${server}__${tool}`];
  return servers.map((s) => `mcp__${s}__${tool}`);
}

export function claudePermissions(policy: CompiledPolicyPayload, caps: RenderCapabilities) {
  const servers = Object.keys(caps.mcpServers ?? {}).sort();
  const deny: string[] = [];
  const allow: string[] = [];
  for (const t of policy.tools.deny) {
    if (CLAUDE_BUILTIN_TOOLS.has(t)) deny.push(t);
    else if (t !== "*") deny.push(...mcpRule(t, servers));
  }
  for (const cmd of policy.tools.dangerous_commands) deny.push(`Bash(${cmd})`);
  for (const p of deniedPaths(policy, caps)) {
    for (const r of pathRules(p)) deny.push(`Read(${r})`, `Edit(${r})`);
  }
  const domains = allowedDomains(policy);
  if (policy.network.egress === "deny" && !policy.tools.deny.includes("WebFetch")) deny.push("WebFetch");
  for (const t of policy.tools.allow) {
    if (policy.tools.deny.includes(t)) continue;
    if (t === "WebFetch") allow.push(...domains.map((d) => `WebFetch(domain:${d})`));
    else if (CLAUDE_BUILTIN_TOOLS.has(t)) allow.push(t);
    else if (t !== "*") allow.push(...mcpRule(t, servers));
  }
  return { allow: uniq(allow), deny: uniq(deny) };
}

function settings(policy: CompiledPolicyPayload, caps: RenderCapabilities) {
  const hook = shellJoin([...caps.agentCommand, "hook", "claude-code"]);
  const servers = Object.keys(caps.mcpServers ?? {}).sort();
  const env: Record<string, string> = {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    ENABLE_TOOL_SEARCH: "false",
  };
  if (caps.gatewayUrl) env.ANTHROPIC_BASE_URL = caps.gatewayUrl;
  return {
    // Short-lived capability tokens, renewed through the governor (never a provider key).
    ...(caps.gatewayUrl ? { apiKeyHelper: shellJoin([...caps.agentCommand, "token"]) } : {}),
    permissions: { ...claudePermissions(policy, caps), disableBypassPermissionsMode: "disable" },
    allowManagedHooksOnly: true,
    allowManagedPermissionRulesOnly: true,
    hooks: {
      PreToolUse: [{ matcher: "*", hooks: [{ type: "command", command: hook, timeout: caps.hookTimeoutSeconds ?? 10 }] }],
    },
    allowedMcpServers: servers.map((serverName) => ({ serverName })),
    enableAllProjectMcpServers: false,
    sandbox: {
      // Under TapPass's kernel ring, Claude's own (nested) sandbox is redundant and cannot start.
      enabled: policy.pipeline.mode !== "observe" && !caps.kernelRing,
      allowUnsandboxedCommands: false,
      network: { allowedDomains: allowedDomains(policy) },
    },
    env,
  };
}

export const claudeCode: Provider = {
  id: "claude-code",
  description: "Claude Code managed settings (permissions, PreToolUse hook, lock-downs) and .mcp.json through the broker",
  render(policy, caps): RenderedFile[] {
    const files: RenderedFile[] = [{ path: "claude-code/managed-settings.json", content: json(settings(policy, caps)) }];
    if (caps.mcpServers && Object.keys(caps.mcpServers).length > 0) {
      const mcpServers = Object.fromEntries(
        Object.entries(caps.mcpServers).sort(([a], [b]) => a.localeCompare(b)).map(([n, s]) => ["command" in s ? [n, { type: "stdio", ...s }] : [n, { type: "http", url: s.url }]][0] as [string, unknown]),
      );
      files.push({ path: "claude-code/mcp.json", content: json({ mcpServers }) });
    }
    return files;
  },
};
