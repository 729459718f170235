/**
 * Which harness a command is, and how its rendered config reaches it: Claude Code gets
 * `--settings` (+ `--mcp-config`) on its command line and a private CLAUDE_CONFIG_DIR; Codex a
 * private CODEX_HOME; Gemini CLI a private GEMINI_CLI_HOME holding the rendered settings (its
 * system-settings path is only honoured for root-owned files, which a sandbox's user namespace
 * never shows) and the rendered rules as `--admin-policy`, its highest policy tier. Anything else
 * runs with the env alone (gateway + token), under the kernel ring.
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
      return { argv: [argv[0] as string, "--admin-policy", join(dir, "gemini-cli", "policy.toml"), ...argv.slice(1)], env: { GEMINI_CLI_HOME: join(dir, "gemini-home") } };
    default:
      return { argv, env: {} };
  }
}

/** Rendered files a harness also needs at a second place (its private home). */
export const HARNESS_COPIES: Partial<Record<Harness, Array<[from: string, to: string]>>> = {
  "gemini-cli": [["gemini-cli/settings.json", "gemini-home/.gemini/settings.json"]],
};
