import { BaseCommand } from "../cli/base.ts";

export default class DemoAgent extends BaseCommand {
  static override hidden = true;
  static override description = "The small agent `tappass demo` runs under `tappass exec` (internal).";

  async run(): Promise<void> {
    await this.parse(DemoAgent);
    const { runDemoAgent } = await import("../engine/demo/agent.ts");
    await runDemoAgent();
  }
}
