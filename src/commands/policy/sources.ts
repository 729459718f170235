import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PolicySources extends BaseCommand {
  static override description = "Show the packs and files stored at a cascade level (its current version). Change them with `policy apply` (--replace to drop some).";
  static override examples = ["<%= config.bin %> policy sources --level project=eu-support --json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    level: Flags.string({ description: "org | project=NAME | agent=NAME", required: true }),
    text: Flags.boolean({ description: "include each file's text", default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PolicySources);
    const { openState } = await import("../../engine/store/state.ts");
    const { currentSources, parseLevel } = await import("../../engine/policy/registry.ts");
    const db = openState();
    const cur = currentSources(db, parseLevel(db, flags.level));
    const out = {
      level: flags.level,
      version: cur.version,
      packs: cur.spec.packs,
      files: cur.spec.files.map((f) => ({ path: f.path, kind: f.kind, bytes: Buffer.byteLength(f.text), ...(flags.text ? { text: f.text } : {}) })),
    };
    this.output(out, (x) =>
      [
        `${x.level}: version ${x.version}${x.level === "org" ? " (over the built-in baseline)" : ""}`,
        `packs: ${x.packs.join(", ") || "-"}`,
        `files: ${x.files.map((f) => `${f.path} (${f.kind}, ${f.bytes} bytes)`).join(", ") || "-"}`,
        // --text: each file as stored, under a header line
        ...x.files.flatMap((f) => ("text" in f ? [`\n--- ${f.path}`, String(f.text).replace(/\n$/, "")] : [])),
      ].join("\n"),
    );
  }
}
