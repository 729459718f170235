import { BaseCommand } from "../../cli/base.ts";

export default class PackList extends BaseCommand {
  static override description = "List the compliance packs shipped in this binary.";
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    await this.parse(PackList);
    const { catalog } = await import("../../engine/policy/catalog.ts");
    const packs = Object.values(catalog().packs).map((p) => ({ id: p.id, name: p.name, version: p.version, description: p.description, concerns: p.concerns, probes: p.probes }));
    this.output({ packs }, (x) => x.packs.map((p) => `${p.id.padEnd(10)} ${p.name} ${p.version}: ${p.description}`).join("\n"));
  }
}
