import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";

export default class Exec extends BaseCommand {
  static override description =
    "Run a command (claude, codex, gemini, anything) with the LLM gateway, hook governor, harness config and kernel ring in place; exits with the command's exit code and prints a summary to stderr.";
  static override examples = [
    '<%= config.bin %> exec -- claude -p "fix the failing test"',
    "<%= config.bin %> exec --agent reviewer -- codex exec 'review this diff'",
    "<%= config.bin %> exec --no-kernel -- ./my-agent.sh",
  ];
  static override strict = false;
  static override flags = {
    agent: Flags.string({ description: "agent whose policy governs the run (default: the install's local agent, under the org baseline)" }),
    "no-kernel": Flags.boolean({ default: false, description: "run without the kernel ring (Landlock, seccomp, network namespace); recorded as unconfined" }),
    "upstream-anthropic": Flags.string({ description: "Anthropic upstream base URL (default https://api.anthropic.com or $TAPPASS_UPSTREAM_ANTHROPIC)" }),
    "upstream-openai": Flags.string({ description: "OpenAI-compatible upstream base URL (default https://api.openai.com or $TAPPASS_UPSTREAM_OPENAI)" }),
    "mcp-config": Flags.string({ description: "an extra .mcp.json-style file of MCP servers (the project's .mcp.json is read too); every server goes through the broker" }),
    summary: Flags.string({ description: "also write the run summary as JSON to this file" }),
    quiet: Flags.boolean({ default: false, description: "no summary on stderr" }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Exec);
    const [{ runExec }, { renderSummary }] = await Promise.all([import("../engine/exec/session.ts"), import("../engine/exec/summary.ts")]);
    const command = (argv as string[]).filter((a, i) => !(i === 0 && a === "--"));
    const r = await runExec({
      agent: flags.agent,
      argv: command,
      noKernel: flags["no-kernel"],
      mcpConfig: flags["mcp-config"],
      upstreams: {
        anthropic: flags["upstream-anthropic"] ?? process.env.TAPPASS_UPSTREAM_ANTHROPIC,
        openai: flags["upstream-openai"] ?? process.env.TAPPASS_UPSTREAM_OPENAI,
      },
      log: (l) => this.note(l),
    });
    if (flags.summary) await Bun.write(flags.summary, `${JSON.stringify(r, null, 2)}\n`);
    if (!flags.quiet) process.stderr.write(renderSummary(r));
    process.exitCode = r.exit_code;
  }
}
