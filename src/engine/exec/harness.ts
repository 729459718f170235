/**
 * Which harness a command is, and how its rendered config reaches it: Claude Code gets
 * `--settings` (+ `--mcp-config`) on its command line and a private CLAUDE_CONFIG_DIR; Codex a
 * private CODEX_HOME; Gemini CLI its system-settings path. Anything else runs with the env alone
 * (gateway + token), under the kernel ring.
 */
import { basename, join } from "node:path";

export type Harness = "claude-code" | "codex" | "gemini-cli" | "generic";

export function harnessOf(argv: string[]): Harness {
  const b = basename(argv[0] ?? "");
  if (b === "claude" || b === "claude-code") return "claude-code";
  if (b === "codex") return "codex";
  if (b === "gemini") return "gemini-cli";
  return "generic";
}

/** argv and env changes that point a harness at its rendered files in `dir`. */
export function wireHarness(h: Harness, argv: string[], dir: string, hasMcp: boolean): { argv: string[]; env: Record<string, string> } {
  switch (h) {
    case "claude-code": {
      const extra = ["--settings", join(dir, "claude-code", "managed-settings.json")];
      if (hasMcp) extra.push("--mcp-config", join(dir, "claude-code", "mcp.json"), "--strict-mcp-config");
      return { argv: [argv[0] as string, ...extra, ...argv.slice(1)], env: { CLAUDE_CONFIG_DIR: join(dir, "claude-home") } };
    }
    case "codex":
      return { argv, env: { CODEX_HOME: join(dir, "codex") } };
    case "gemini-cli":
      return { argv, env: { GEMINI_CLI_SYSTEM_SETTINGS_PATH: join(dir, "gemini-cli", "settings.json") } };
    default:
      return { argv, env: {} };
  }
}
