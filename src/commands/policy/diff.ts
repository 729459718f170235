import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PolicyDiff extends BaseCommand {
  static override description = "Show what changed between two compiled policy versions (policy_version numbers).";
  static override examples = ["<%= config.bin %> policy diff --from 3 --to 5"];
  static override flags = {
    ...BaseCommand.baseFlags,
    from: Flags.integer({ description: "older policy_version", required: true }),
    to: Flags.integer({ description: "newer policy_version", required: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PolicyDiff);
    const { openState } = await import("../../engine/store/state.ts");
    const { diffVersions } = await import("../../engine/policy/index.ts");
    const r = diffVersions(openState(), flags.from, flags.to);
    if (r.agents) this.note(`note: version ${r.from} is agent ${r.agents[0]}'s policy and version ${r.to} agent ${r.agents[1]}'s — this compares two agents, not two versions of one`);
    const fmt = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    this.output(r, (x) =>
      x.changes.length
        ? x.changes.map((c) => (c.op === "added" ? `+ ${c.path}: ${fmt(c.to)}` : c.op === "removed" ? `- ${c.path}: ${fmt(c.from)}` : `~ ${c.path}: ${fmt(c.from)} → ${fmt(c.to)}`)).join("\n")
        : `no differences between ${x.from} and ${x.to}`,
    );
  }
}
