/** Helpers shared by renderers: path expansion, tool classification, stable JSON. */
import type { CompiledPolicyPayload } from "../engine/policy/types.ts";
import type { RenderCapabilities } from "./types.ts";

/** Expand ~, $HOME and ${cwd} (the workspace) in a policy path. */
export function expandPath(p: string, caps: Pick<RenderCapabilities, "home" | "workspace">): string {
  return p
    .replace(/^~(?=\/|$)/, caps.home)
    .replace(/\$\{?HOME\}?/g, caps.home)
    .replace(/\$\{cwd\}|\$\{workspace\}/g, caps.workspace);
}

export const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export const uniq = <T>(xs: T[]) => [...new Set(xs)];

/** Claude Code's built-in tools (anything else is an MCP tool or unknown to Claude). */
export const CLAUDE_BUILTIN_TOOLS = new Set([
  "Bash", "BashOutput", "KillShell", "Read", "Write", "Edit", "MultiEdit", "Glob", "Grep", "LS", "WebFetch", "WebSearch",
  "Task", "TodoWrite", "NotebookEdit", "NotebookRead", "ExitPlanMode", "SlashCommand", "Skill",
]);

/** Every path the agent must not touch: filesystem.deny_paths ∪ tools.forbidden_zones, expanded. */
export function deniedPaths(policy: CompiledPolicyPayload, caps: Pick<RenderCapabilities, "home" | "workspace">): string[] {
  return uniq([...policy.filesystem.deny_paths, ...policy.tools.forbidden_zones].map((p) => expandPath(p, caps))).sort();
}

/** Domains the agent may reach (directly or through the egress proxy). */
export function allowedDomains(policy: CompiledPolicyPayload): string[] {
  return policy.network.egress === "deny" ? [] : uniq(policy.network.allow_domains).sort();
}

/** argv → one POSIX shell command line (hooks and helpers in harness config are shell strings). */
export const shellJoin = (argv: string[]) => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
