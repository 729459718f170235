import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class KeysExport extends BaseCommand {
  static override description = "Print the install's public keys (Ed25519 for audit and policy, ES256 for capability tokens) as a JWKS document.";
  static override examples = ["<%= config.bin %> keys export --jwks > tappass.jwks.json"];
  static override flags = {
    ...BaseCommand.baseFlags,
    jwks: Flags.boolean({ description: "JWKS format (the only format; kept for clarity in scripts)", default: true }),
  };

  async run(): Promise<void> {
    await this.parse(KeysExport);
    const { loadKeys, jwks } = await import("../../engine/crypto/keys.ts");
    const doc = jwks(loadKeys());
    // a JWKS is JSON either way (compact, like --json); an error is JSON on stdout only with --json,
    // so `keys export --jwks > tappass.jwks.json` never writes an error into the key file
    this.jsonMode = true;
    this.output(doc);
  }
}
