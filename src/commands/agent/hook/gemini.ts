import { BaseCommand } from "../../../cli/base.ts";

export default class HookGemini extends BaseCommand {
  static override description =
    "Gemini CLI BeforeTool hook: reads the hook JSON on stdin, asks the TapPass governor (pipeline + audit), prints the decision. Fails closed: any error or timeout denies.";
  static override examples = ['echo \'{"tool_name":"run_shell_command","tool_input":{"command":"ls"}}\' | tappass-agent hook gemini'];
  static override flags = {};

  async run(): Promise<void> {
    await this.parse(HookGemini);
    const { geminiHook } = await import("../../../cli/agent-fast.ts");
    await geminiHook();
  }
}
