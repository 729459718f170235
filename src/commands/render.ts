import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";

export default class Render extends BaseCommand {
  static override description =
    "Render an agent's Compiled Policy as a harness's or sandbox's native config (claude-code, codex, gemini-cli, openshell, nono, macos-seatbelt, monty, langchain-sdk) into OUT/TARGET/ (e.g. ./rendered/codex/config.toml).";
  static override examples = [
    "<%= config.bin %> render --agent coder --target claude-code --out ./.tappass",
    "<%= config.bin %> render --agent coder --target codex --out ./rendered --gateway-url http://127.0.0.1:8787   # ./rendered/codex/config.toml",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ required: true, description: "agent whose policy to render" }),
    target: Flags.string({ required: true, description: "render target (provider id)" }),
    out: Flags.string({ required: true, description: "directory to write the files into" }),
    "gateway-url": Flags.string({ description: "the TapPass gateway the harness should use (e.g. from `tappass gateway serve`)" }),
    workspace: Flags.string({ description: "the agent's workspace (default: the current directory)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Render);
    const { renderForAgent } = await import("../engine/harness/render.ts");
    const r = await renderForAgent({ agent: flags.agent, target: flags.target, out: flags.out, gatewayUrl: flags["gateway-url"], workspace: flags.workspace });
    this.output(r, (x) => `rendered ${x.target} for ${x.agent} (policy v${x.policy_version}):\n${x.files.map((f) => `  ${f}`).join("\n")}`);
  }
}
