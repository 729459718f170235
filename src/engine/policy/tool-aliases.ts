/**
 * One tool, several names: a policy names the built-in tools of coding agents the way Claude Code
 * does (Bash, Read, …); Gemini CLI calls the same tools run_shell_command, read_file, …. The
 * pipeline lists a call under all its names (so "Bash" in tools.deny also denies Gemini's
 * run_shell_command, and a policy may name either), and the Gemini CLI renderer writes the
 * Gemini names into its rules.
 */

/** TapPass (Claude Code) name → Gemini CLI's built-in tool name. */
export const GEMINI_TOOL_NAMES: Readonly<Record<string, string>> = {
  Bash: "run_shell_command",
  Read: "read_file",
  Write: "write_file",
  Edit: "replace",
  Glob: "glob",
  Grep: "grep_search",
  WebFetch: "web_fetch",
  WebSearch: "google_web_search",
  LS: "list_directory",
};

const ALIASES: ReadonlyMap<string, string> = new Map(Object.entries(GEMINI_TOOL_NAMES).flatMap(([a, b]) => [[a, b] as [string, string], [b, a] as [string, string]]));

/** The other name of a built-in tool, if it has one. */
export const toolAlias = (name: string): string | undefined => ALIASES.get(name);
