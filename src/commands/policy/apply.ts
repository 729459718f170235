import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PolicyApply extends BaseCommand {
  static override description =
    "Add compliance packs and policy sources (.rego, .yaml) to a cascade level. Refused (exit 1) when a source would relax a floor set above it or grant a forbidden capability; bad input exits 3 with file:line:col. Nothing is stored unless everything checks.";
  static override examples = [
    "<%= config.bin %> policy apply --level org policies/baseline.rego",
    "<%= config.bin %> policy apply --level project=eu-support --pack eu-ai-act --pack gdpr",
    "<%= config.bin %> policy apply --level agent=mailer policies/strict-project.yaml --dry-run --json",
  ];
  static override strict = false;
  static override args = { file: Args.string({ description: "policy source files (.rego, .yaml)", required: false }) };
  static override flags = {
    ...BaseCommand.baseFlags,
    level: Flags.string({ description: "org | project=NAME | agent=NAME", required: true }),
    pack: Flags.string({ description: "compliance pack id (repeatable: --pack a --pack b)", multiple: true, multipleNonGreedy: true }),
    "dry-run": Flags.boolean({ description: "check everything, store nothing", default: false }),
    replace: Flags.boolean({ description: "replace the level's sources instead of adding to them", default: false }),
  };

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(PolicyApply);
    const { openState } = await import("../../engine/store/state.ts");
    const { applyPolicy } = await import("../../engine/policy/apply.ts");
    const r = applyPolicy(openState(), {
      level: flags.level,
      packs: ((flags.pack ?? []) as string[]).flatMap((p: string) => p.split(",")).map((p: string) => p.trim()).filter(Boolean),
      files: (argv as string[]).filter((a) => !a.startsWith("-")),
      dryRun: flags["dry-run"],
      replace: flags.replace,
    });
    for (const w of r.warnings ?? []) this.note(`warning: ${w}`);
    this.output(r, (x) =>
      `${x.dry_run ? "[dry run] " : ""}${x.level}: ${x.changed ? `version ${x.version}` : `unchanged (version ${x.version})`}; packs: ${x.sources.packs.join(", ") || "-"}; files: ${x.sources.files.join(", ") || "-"}`,
    );
  }
}
