import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base.ts";

export default class Init extends BaseCommand {
  static override description =
    "Create TAPPASS_HOME (default ~/.tappass): state.db, signing keys, and the org with its built-in baseline policy. Safe to run again.";
  static override examples = ["<%= config.bin %> init", "<%= config.bin %> init --org acme --json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    org: Flags.string({ description: "name of the organisation this install governs (first run only)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Init);
    const { initInstall } = await import("../engine/install.ts");
    const r = await initInstall({ org: flags.org });
    this.output(r, (x) =>
      x.changed
        ? `initialised ${x.home} for org "${x.org}" (created: ${x.created.join(", ")})`
        : `${x.home} is already initialised for org "${x.org}"; nothing changed`,
    );
  }
}
