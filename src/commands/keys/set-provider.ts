import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class KeysSetProvider extends BaseCommand {
  static override description =
    "Store a model provider's API key for the gateway, read from stdin and sealed with AES-256-GCM under a key-encryption key kept owner-only in TAPPASS_HOME/keys. The key is never printed; agents never see it.";
  static override examples = ['printf %s "$OPENAI_API_KEY" | <%= config.bin %> keys set-provider openai', "<%= config.bin %> keys set-provider anthropic < anthropic.key"];
  static override args = {
    provider: Args.string({ required: true, description: "openai, anthropic, gemini, or a route's key_env name in lower case" }),
  };
  static override flags = { ...BaseCommand.baseFlags };

  async run(): Promise<void> {
    const { args } = await this.parse(KeysSetProvider);
    const [{ openState }, { tappassHome }, { setProviderKey }, { inputError }] = await Promise.all([
      import("../../engine/store/state.ts"),
      import("../../engine/home.ts"),
      import("../../engine/gateway/keystore.ts"),
      import("../../engine/errors.ts"),
    ]);
    if (process.stdin.isTTY) throw inputError("key_from_stdin", "the key is read from stdin, not typed or passed as an argument", { hint: `pipe it in: printf %s "$KEY" | tappass keys set-provider ${args.provider}` });
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(Buffer.from(c as Uint8Array));
    const secret = Buffer.concat(chunks).toString("utf8");
    const db = openState();
    const name = args.provider.toLowerCase();
    const r = setProviderKey(db, tappassHome(), name, secret);
    // a typo of a provider's name would be stored and never used: say what the name will match
    if (!["openai", "anthropic", "gemini"].includes(name)) {
      this.note(`note: "${name}" is not openai, anthropic or gemini; the gateway uses this key only for a model route whose key_env is ${name.toUpperCase()}`);
    }
    this.output({ ...r, stored: true }, (x) => `stored the ${x.provider} key (${x.fingerprint}), sealed with key-encryption key ${x.kek_id}`);
  }
}
