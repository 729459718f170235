import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";
import { usageError, inputError } from "../engine/errors.ts";

export default class RunCode extends BaseCommand {
  static override description =
    "Run agent-written JavaScript in the interpreter ring: QuickJS in WebAssembly, with only the host functions, memory and time the policy's interpreter aspect allows; no network, no filesystem.";
  static override examples = [
    "<%= config.bin %> run-code --agent reviewer script.js",
    "<%= config.bin %> run-code --policy compiled.json script.js --json",
  ];
  static override args = { file: Args.string({ description: "JavaScript file to run", required: true }) };
  static override flags = {
    agent: Flags.string({ description: "agent whose Compiled Policy sets the limits", exclusive: ["policy"] }),
    policy: Flags.string({ description: "a signed Compiled Policy envelope (JSON) to take the interpreter aspect from", exclusive: ["agent"] }),
    workspace: Flags.string({ description: "directory read_workspace / write_workspace may use (default: the current directory)" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RunCode);
    if (!flags.agent && !flags.policy) throw usageError("give --agent NAME or --policy FILE.json", { hint: "the interpreter aspect of that policy sets what the code may call" });
    const [{ runCode, optionsFromAspect }, loader] = await Promise.all([import("../sandbox/interpreter.ts"), import("../sandbox/run-code.ts")]);
    const { zones, ...aspect } = flags.policy ? await loader.interpreterAspectFromFile(flags.policy) : await loader.interpreterAspectForAgent(flags.agent as string);
    const workspace = flags.workspace ?? process.cwd();
    const { zonePredicate } = await import("../engine/pipeline/steps/forbidden_zones.ts");
    const { homedir } = await import("node:os");
    const denied = zonePredicate(zones, { home: process.env.HOME || homedir(), cwd: workspace });
    let source: string;
    try {
      source = await Bun.file(args.file).text();
    } catch (e) {
      throw inputError("file_unreadable", `cannot read ${args.file}: ${(e as Error).message}`, { where: args.file });
    }
    const r = await runCode(source, { ...optionsFromAspect(aspect), filename: args.file, workspace, denied });
    this.output({ ...r, limits: aspect }, (x) =>
      [...x.stdout, x.ok ? (x.result === undefined ? "" : typeof x.result === "string" ? x.result : JSON.stringify(x.result)) : `error (${x.error_kind}): ${x.error}`]
        .filter((l) => l !== "")
        .join("\n"),
    );
    if (!r.ok) this.exitWith(1);
  }
}
