import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class AgentCreate extends BaseCommand {
  static override description = "Register an agent in a project, with its function (L0) and the data categories (L1) it handles. Idempotent for identical input.";
  static override examples = [
    "<%= config.bin %> agent create mailer --project eu-support --function customer_support_emailer --category customer_pii",
  ];
  static override args = { name: Args.string({ description: "agent name", required: true }) };
  static override flags = {
    ...BaseCommand.baseFlags,
    project: Flags.string({ description: "project the agent belongs to", required: true }),
    function: Flags.string({ description: "what the agent is for (L0), e.g. customer_support_emailer, code_reviewer, coding_assistant (policies/README.md)" }),
    category: Flags.string({ description: "a data category the agent handles (repeatable)", multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(AgentCreate);
    const { openState } = await import("../../engine/store/state.ts");
    const [{ createAgent }, { effectiveAspects }] = await Promise.all([import("../../engine/policy/registry.ts"), import("../../engine/policy/index.ts")]);
    const db = openState();
    // created only if its policy compiles: a function's forbidden capabilities hold against the
    // sources already applied (e.g. an org catalog entry that redefines Bash without code_execution)
    const r = db.transaction(() => {
      const made = createAgent(db, { name: args.name, project: flags.project, function: flags.function ?? null, categories: flags.category ?? [] });
      if (made.created) effectiveAspects(db, args.name);
      return made;
    });
    const out = { ...r.agent, created: r.created };
    this.output(out, (x) =>
      x.created
        ? `created agent ${x.name} in project ${x.project}${x.function ? ` (function ${x.function})` : ""}${x.categories.length ? `, categories ${x.categories.join(", ")}` : ""}`
        : `agent ${x.name} already exists; nothing changed`,
    );
  }
}
