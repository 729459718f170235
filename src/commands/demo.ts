import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";

export default class Demo extends BaseCommand {
  static override description =
    "End-to-end tour on the embedded default, offline: init, a project and an agent, a compliance pack, a small agent run under `exec` against a scripted local model (allowed action, secret leak, denied tool, forbidden file, denied egress), then `audit verify`.";
  static override examples = ["<%= config.bin %> demo", "<%= config.bin %> demo --json", "<%= config.bin %> demo --keep   # keep the temporary TAPPASS_HOME to explore"];
  static override flags = {
    ...BaseCommand.baseFlags,
    keep: Flags.boolean({ default: false, description: "keep the temporary TAPPASS_HOME and print where it is" }),
    "no-kernel": Flags.boolean({ default: false, description: "run the agent without the kernel ring (e.g. on a machine without Landlock or bubblewrap)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Demo);
    const [{ runDemo }, { probeKernel, missingFeatures }] = await Promise.all([import("../engine/demo/run.ts"), import("../sandbox/index.ts")]);
    let noKernel = flags["no-kernel"];
    const missing = missingFeatures(probeKernel());
    if (!noKernel && missing.length > 0) {
      this.note(`tappass demo: the kernel ring is not available here (missing ${missing.join(", ")}); running the agent without it — gateway and hooks still enforce`);
      noKernel = true;
    }
    const report = await runDemo({ keep: flags.keep, noKernel, log: (l) => this.note(l) });
    this.output(report, (r) => {
      const rows = r.scenarios.map((s) => `  ${s.outcome === "blocked" ? "✘ blocked" : "✔ allowed"}  ${s.scenario.padEnd(40)} by ${s.by}: ${s.detail.replace(/\s+/g, " ").slice(0, 110)}`);
      return [
        "",
        `What the agent tried (kernel ring: ${r.kernel}):`,
        ...rows,
        "",
        `audit verify: ${r.audit.ok ? `chain intact (${r.audit.rows ?? "all"} rows, signatures valid)` : `FAILED at seq ${r.audit.first_bad_seq}: ${r.audit.reason}`}`,
        r.passed ? "demo: every decision was as the policy says." : "demo: some decisions were NOT as expected (see above).",
        flags.keep ? `TAPPASS_HOME kept at ${r.home} — try: TAPPASS_HOME=${r.home} tappass audit tail` : "",
      ].join("\n");
    });
    if (!report.passed) this.exitWith(1);
  }
}
