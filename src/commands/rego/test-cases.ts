import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class RegoTestCases extends BaseCommand {
  static override description = "Run OPA-format YAML conformance cases against TapPass's Rego interpreter";
  static override examples = ["<%= config.bin %> rego test-cases test/cases/testdata/v1 --json"];
  static override flags = { ...BaseCommand.baseFlags };
  static override args = { dir: Args.string({ required: true, description: "directory (or file) of YAML case files" }) };

  async run(): Promise<void> {
    const { args } = await this.parse(RegoTestCases);
    const { existsSync } = await import("node:fs");
    const { inputError } = await import("../../engine/errors.ts");
    if (!existsSync(args.dir)) throw inputError("file_not_found", `no such directory: ${args.dir}`, { where: args.dir, hint: "pass the directory holding the YAML case files" });
    const { runConformance } = await import("../../engine/rego/conformance.ts");
    const rep = runConformance(args.dir);
    const out = { passed: rep.passed, failed: rep.failed, skipped: rep.skipped, failures: rep.failures, skips: rep.skips };
    this.output(out, (r) =>
      [`passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped}`, ...r.failures.map((f) => `FAIL ${f.note}: ${f.reason}`)].join("\n"),
    );
  }
}
