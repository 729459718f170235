import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PolicyExplain extends BaseCommand {
  static override description = "Show every effective value of an agent's policy and why it is there (level, source pack/file/function/category, detail).";
  static override examples = ["<%= config.bin %> policy explain --agent mailer", "<%= config.bin %> policy explain --agent mailer --aspect tools --json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    agent: Flags.string({ description: "agent name", required: true }),
    aspect: Flags.string({ description: "only rows whose aspect starts with this (e.g. tools, pipeline.steps.detect_pii)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PolicyExplain);
    const { openState } = await import("../../engine/store/state.ts");
    const { explainAgent } = await import("../../engine/policy/index.ts");
    const r = explainAgent(openState(), flags.agent);
    const rules = flags.aspect ? r.rules.filter((x) => x.aspect === flags.aspect || x.aspect.startsWith(`${flags.aspect}.`)) : r.rules;
    this.output({ ...r, rules }, (x) =>
      [
        `agent ${x.agent} (project ${x.project}, org ${x.org})`,
        ...x.rules.map((row) => {
          const v = typeof row.value === "string" ? row.value : JSON.stringify(row.value);
          const why = row.because.map((b) => `${b.level} ${b.source}: ${b.detail}`).join("; ") || "default";
          return `${row.aspect} = ${v}\n    because ${why}`;
        }),
      ].join("\n"),
    );
  }
}
