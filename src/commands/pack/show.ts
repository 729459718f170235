import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PackShow extends BaseCommand {
  static override description = "Show a compliance pack: concerns, detectors, tool constraints, Rego rules and the probe categories it enrols.";
  static override examples = ["<%= config.bin %> pack show gdpr --json"];
  static override args = { id: Args.string({ description: "pack id", required: true }) };
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    const { args } = await this.parse(PackShow);
    const { catalog } = await import("../../engine/policy/catalog.ts");
    const { checkPacks } = await import("../../engine/policy/sources.ts");
    checkPacks([args.id], args.id);
    const { fragment: _f, ...p } = catalog().packs[args.id] as NonNullable<ReturnType<typeof catalog>["packs"][string]>;
    this.output(p, (x) =>
      [
        `${x.id}: ${x.name} ${x.version}`,
        x.description,
        `concerns: ${x.concerns.join(", ")}`,
        "detectors:",
        ...x.detectors.map((d) => `  ${d.step}${d.action ? ` → ${d.action}` : ""}${d.enabled === false ? " (disabled)" : ""}${d.config ? ` ${JSON.stringify(d.config)}` : ""}`),
        `tool constraints: ${x.tool_constraints.length ? "" : "none"}`,
        ...x.tool_constraints.map((c) => `  ${c.tool} ${c.param} ${c.op} ${JSON.stringify(c.value)}${c.detail ? ` — ${c.detail}` : ""}`),
        `rules: ${x.rules.map((r) => `${r.id} (${(r.entrypoints ?? []).join(", ")})`).join("; ") || "none"}`,
        `probes: ${x.probes.join(", ")}`,
      ].join("\n"),
    );
  }
}
