/**
 * dangerous_commands: shell commands that destroy, escalate or pipe the internet into a shell,
 * in the command argument of Bash-like tools. The command is normalised (NFKC, control
 * characters, quotes and backslash escapes, $IFS) and split into its sub-commands (; && || |
 * newlines, $(...) and backticks); tools.dangerous_commands globs and built-in patterns are
 * matched against the whole line and each sub-command.
 */
import type { StepDef } from "../types.ts";
import { catalogEntry } from "./_tools.ts";
import { globMatch, shortHash, strs, toolVerdict, toolsInScope, type ToolHit } from "./_util.ts";

const SHELL_TOOLS = ["Bash", "bash", "sh", "shell", "*shell*", "*bash*", "*terminal*", "exec", "*exec_command*", "run_command", "execute_command", "*run_cmd*", "local_shell"];
const COMMAND_ARGS = ["command", "cmd", "script", "commandLine", "command_line", "code", "args", "input"];

export const BUILTIN_PATTERNS: Array<{ id: string; re: RegExp }> = [
  { id: "rm_rf_root", re: /\brm\s+(?:-[a-z]*\s+)*-(?:[a-z]*r[a-z]*f|[a-z]*f[a-z]*r)[a-z]*\s+(?:-[a-z-]+\s+)*(?:\/|\/\*|~|~\/|\$home|\/(?:etc|usr|var|home|boot|bin|lib|root)\/?)(?:\s|$)/i },
  { id: "rm_no_preserve_root", re: /--no-preserve-root/i },
  { id: "pipe_to_shell", re: /\b(?:curl|wget|fetch)\b[^|]*\|\s*(?:sudo\s+)?(?:env\s+)?(?:ba|z|k|da|fi)?sh\b/i },
  { id: "pipe_to_interpreter", re: /\b(?:curl|wget)\b[^|]*\|\s*(?:sudo\s+)?(?:python3?|perl|ruby|node)\b/i },
  { id: "base64_to_shell", re: /base64\s+(?:-d|--decode)[^|]*\|\s*(?:ba|z)?sh\b/i },
  { id: "mkfs", re: /\bmkfs(?:\.[a-z0-9]+)?\b/i },
  { id: "dd_to_device", re: /\bdd\b[^;|&]*\bof=\/dev\/(?:sd|nvme|hd|xvd|vd|disk|mmcblk)/i },
  { id: "write_block_device", re: />\s*\/dev\/(?:sd|nvme|hd|xvd|vd|disk|mmcblk)[a-z0-9]*/i },
  { id: "fork_bomb", re: /:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;?\s*:/ },
  { id: "chmod_777_root", re: /\bchmod\s+(?:-[a-z]+\s+)*0?777\s+\/(?:\s|$|\*)/i },
  { id: "chown_root_recursive", re: /\bchown\s+-r\s+\S+\s+\/(?:\s|$)/i },
  { id: "shutdown", re: /(?:^|[;&|\s])(?:sudo\s+)?(?:shutdown|reboot|halt|poweroff|init\s+0)\b/i },
  { id: "reverse_shell", re: /\/dev\/tcp\/|\bnc\b[^;|]*\s-[a-z]*e\s|\bncat\b[^;|]*--exec|\bsocat\b[^;|]*exec:/i },
  { id: "history_wipe", re: /\bhistory\s+-c\b|\bunset\s+histfile\b/i },
  { id: "crontab_wipe", re: /\bcrontab\s+-r\b/i },
  { id: "disable_security", re: /\bsetenforce\s+0\b|\bufw\s+disable\b|\biptables\s+-f\b/i },
];

export function normalizeCommand(raw: string): string {
  let s = raw.normalize("NFKC").replace(/[\u0000\u200b-\u200f\u2060\ufeff]/g, "");
  s = s.replace(/\$\{IFS\}|\$IFS\b/g, " ");
  s = s.replace(/\\\n/g, " ");
  s = s.replace(/\\(.)/g, "$1");
  s = s.replace(/(["'])(.*?)\1/g, "$2");
  s = s.replace(/["']/g, "");
  s = s.replace(/[\t\r\f\v ]+/g, " ").trim();
  return s;
}

export function subCommands(cmd: string): string[] {
  const out = [cmd];
  for (const m of cmd.matchAll(/\$\(([^()]*)\)|`([^`]*)`/g)) out.push((m[1] ?? m[2] ?? "").trim());
  for (const part of cmd.split(/\n|;|&&|\|\||(?<![|>])&(?!&)/)) if (part.trim()) out.push(part.trim());
  return [...new Set(out)].map((s) => s.replace(/^(?:sudo|env|nohup|exec|time|command)\s+/, ""));
}

export function commandOf(args: Record<string, unknown>): string | undefined {
  for (const k of COMMAND_ARGS) {
    const v = args[k];
    if (typeof v === "string") return v;
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.join(" ");
  }
  return undefined;
}

export function findDanger(raw: string, globs: string[]): string | undefined {
  const cmd = normalizeCommand(raw);
  const parts = subCommands(cmd);
  for (const p of BUILTIN_PATTERNS) if (parts.some((x) => p.re.test(x))) return p.id;
  for (const g of globs) if (parts.some((x) => globMatch(g, x, { ci: true }))) return g;
  return undefined;
}

const step: StepDef = {
  name: "dangerous_commands",
  phase: "before_call",
  phases: ["before_call", "after_call"],
  toolScoped: true,
  aspect: "tools",
  run(ctx, env) {
    const c = env.step.config ?? {};
    const shellTools = strs(c.tools, SHELL_TOOLS);
    const globs = [...env.policy.tools.dangerous_commands, ...strs(c.patterns)];
    const calls = toolsInScope(ctx, env.phase);
    const hits: ToolHit[] = [];
    for (const call of calls) {
      const isShell = shellTools.some((g) => globMatch(g, call.name, { ci: true })) || (catalogEntry(env.policy, call)?.capabilities ?? []).includes("shell_exec");
      if (!isShell) continue;
      const cmd = commandOf(call.arguments);
      if (!cmd) continue;
      const why = findDanger(cmd, globs);
      if (why) hits.push({ call, reason: `tool "${call.name}" command matches dangerous pattern ${why}`, detail: { pattern: why, command_sha256_12: shortHash(cmd) } });
    }
    return toolVerdict(step.name, env, hits, calls.length);
  },
};
export default step;
