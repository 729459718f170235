/**
 * Gemini CLI: settings (MCP servers through the broker, auth by API key — the capability token —,
 * sandbox, no telemetry, a BeforeTool hook running `tappass-agent hook gemini`) and a policy-engine TOML of [[rule]] entries (toolName / argsPattern /
 * decision / priority) that `tappass exec` loads as `--admin-policy`, Gemini's highest tier.
 */
import { GEMINI_TOOL_NAMES } from "../engine/policy/tool-aliases.ts";
import { toToml, type TomlTable } from "./toml.ts";
import type { Provider } from "./types.ts";
import { deniedPaths, json, shellJoin } from "./util.ts";

/** MCP tools are `mcp_SERVER_TOOL` in Gemini's policy engine (TapPass: `mcp__server__tool` or `server/tool`). */
function gname(t: string): string {
  if (GEMINI_TOOL_NAMES[t]) return GEMINI_TOOL_NAMES[t];
  const m = /^mcp__(.+?)__(.+)$/.exec(t) ?? /^([^/]+)\/(.+)$/.exec(t);
  return m ? `mcp_${m[1]}_${m[2]}` : t;
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A shell glob like "rm -rf /*" → a regex over the JSON args ("rm -rf /.*"). */
const globToRegex = (g: string) => g.split("*").map(esc).join(".*");
/**
 * A path glob (e.g. "/home/u/.ssh/**", or "*.pem" under any directory) as a regex Gemini CLI
 * searches the JSON args with: a "**" segment spans directories, "*" and "?" stay within one
 * segment, and the match ends where the path does (a quote, a slash, or the end). Escaped
 * literally, a glob matched only its own text.
 */
export function pathGlobToRegex(g: string): string {
  let out = "";
  for (let i = 0; i < g.length; i++) {
    const ch = g[i] as string;
    if (ch === "*" && g[i + 1] === "*") {
      if (g[i + 2] === "/") {
        out += '(?:[^"]*/)?';
        i += 2;
      } else {
        out += '[^"]*';
        i += 1;
      }
    } else if (ch === "*") out += '[^/"]*';
    else if (ch === "?") out += '[^/"]';
    else out += esc(ch);
  }
  return `${out}(?=["/]|$)`;
}

export const geminiCli: Provider = {
  id: "gemini-cli",
  description: "Gemini CLI system settings and policy-engine TOML rules",
  render(policy, caps) {
    const servers = Object.entries(caps.mcpServers ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const settings = {
      tools: {
        // under TapPass's kernel ring the agent is already confined; Gemini's own (container) sandbox would relaunch outside it
        sandbox: policy.pipeline.mode !== "observe" && !caps.kernelRing,
      },
      mcpServers: Object.fromEntries(servers.map(([n, s]) => [n, "command" in s ? { command: s.command, args: s.args, trust: false } : { httpUrl: s.url, trust: false }])),
      security: { auth: { selectedType: "gemini-api-key" } },
      telemetry: { enabled: false },
      // under the kernel ring the home directory may be hidden: Gemini's "is this your home?" check
      // would only print a file-system error
      ...(caps.kernelRing ? { ui: { showHomeDirectoryWarning: false } } : {}),
      privacy: { usageStatisticsEnabled: false },
      // every tool call through the pipeline before it runs; the hook's environment is given here
      // too, since Gemini CLI may strip variables named like secrets (TAPPASS_TOKEN) from it
      hooksConfig: { enabled: true },
      hooks: {
        BeforeTool: [
          {
            matcher: "*",
            hooks: [
              {
                type: "command",
                name: "tappass",
                command: shellJoin([...caps.agentCommand, "hook", "gemini"]),
                timeout: (caps.hookTimeoutSeconds ?? 10) * 1000,
                ...(caps.hookEnv ? { env: caps.hookEnv } : {}),
              },
            ],
          },
        ],
      },
    };
    const rules: TomlTable[] = [];
    for (const t of policy.tools.deny) if (t !== "*") rules.push({ toolName: gname(t), decision: "deny", priority: 900 });
    for (const c of policy.tools.dangerous_commands) rules.push({ toolName: "run_shell_command", argsPattern: globToRegex(c), decision: "deny", priority: 800 });
    for (const p of deniedPaths(policy, caps)) {
      for (const tool of ["read_file", "write_file", "replace", "read_many_files"]) rules.push({ toolName: tool, argsPattern: pathGlobToRegex(p), decision: "deny", priority: 700 });
    }
    for (const t of policy.tools.allow) if (t !== "*" && !policy.tools.deny.includes(t)) rules.push({ toolName: gname(t), decision: "allow", priority: 100 });
    if (policy.tools.default === "deny") rules.push({ toolName: "*", decision: "deny", priority: 1 });
    return [
      { path: "gemini-cli/settings.json", content: json(settings) },
      { path: "gemini-cli/policy.toml", content: `# Rendered by TapPass from policy v${policy.policy_version}\n${toToml({ rule: rules })}` },
    ];
  },
};
