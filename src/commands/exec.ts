import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";
import type { ExecFlags } from "../cli/exec-fast.ts";

export default class Exec extends BaseCommand {
  static override description =
    "Run a command (claude, codex, gemini, anything) with the LLM gateway, hook governor, harness config and kernel ring in place; exits with the command's exit code and prints a summary to stderr.";
  static override examples = [
    '<%= config.bin %> exec -- claude -p "fix the failing test"',
    "<%= config.bin %> exec --agent reviewer -- codex exec 'review this diff'",
    "<%= config.bin %> exec --no-kernel -- ./my-agent.sh",
  ];
  static override strict = false;
  // The same flags are parsed without oclif by src/cli/exec-fast.ts (keep the two in step).
  static override flags = {
    agent: Flags.string({ description: "agent whose policy governs the run (default: the install's local agent, under the org baseline)" }),
    "no-kernel": Flags.boolean({ default: false, description: "run without the kernel ring (Landlock, seccomp, network namespace); recorded as unconfined" }),
    "upstream-anthropic": Flags.string({ description: "Anthropic upstream base URL (default https://api.anthropic.com or $TAPPASS_UPSTREAM_ANTHROPIC)" }),
    "upstream-openai": Flags.string({ description: "OpenAI-compatible upstream base URL (default https://api.openai.com or $TAPPASS_UPSTREAM_OPENAI)" }),
    "upstream-gemini": Flags.string({ description: "Gemini API upstream base URL (default https://generativelanguage.googleapis.com or $TAPPASS_UPSTREAM_GEMINI)" }),
    "mcp-config": Flags.string({ description: "an extra .mcp.json-style file of MCP servers (the project's .mcp.json is read too); every server goes through the broker" }),
    summary: Flags.string({ description: "also write the run summary as JSON to this file" }),
    quiet: Flags.boolean({ default: false, description: "no start line or summary on stderr (warnings and errors still)" }),
    "approve-mcp": Flags.boolean({ default: false, description: "approve the stdio MCP servers of .mcp.json / --mcp-config that are new or changed (they run outside the sandbox; until approved they are not started)" }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Exec);
    const { execCommand } = await import("../cli/exec-fast.ts");
    const f = flags as unknown as Omit<ExecFlags, "json">;
    const command = (argv as string[]).filter((a, i) => !(i === 0 && a === "--"));
    if (command.length === 0) {
      const { usageError } = await import("../engine/errors.ts");
      throw usageError("no command to run", { hint: "tappass exec [FLAGS] -- COMMAND [ARGS…], e.g. tappass exec -- claude" });
    }
    await execCommand({ ...f, json: this.jsonMode }, command);
  }
}
