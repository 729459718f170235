import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class PolicyVerify extends BaseCommand {
  static override description = "Verify a Compiled Policy envelope offline: schema, Ed25519 signature, expiry. Exit 0 valid, 1 invalid.";
  static override examples = ["<%= config.bin %> policy verify cp.json", "<%= config.bin %> policy verify cp.json --pubkey tappass.jwks.json"];
  static override args = { file: Args.string({ description: "envelope file", required: true }) };
  static override flags = {
    ...BaseCommand.baseFlags,
    pubkey: Flags.string({ description: "JWKS file (tappass keys export --jwks); default: this install's key" }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(PolicyVerify);
    const { existsSync, readFileSync } = await import("node:fs");
    const { inputError } = await import("../../engine/errors.ts");
    const { verifyEnvelope } = await import("../../engine/policy/index.ts");
    const keysMod = await import("../../engine/crypto/keys.ts");
    if (!existsSync(args.file)) throw inputError("missing_file", `${args.file}: no such file`, { where: args.file, hint: "check the path" });
    let keys: Array<{ kid: string; public: Uint8Array }>;
    if (flags.pubkey) {
      if (!existsSync(flags.pubkey)) throw inputError("missing_file", `${flags.pubkey}: no such file`, { where: flags.pubkey, hint: "export one with `tappass keys export --jwks > FILE`" });
      let doc: { keys?: import("jose").JWK[] };
      try {
        doc = JSON.parse(readFileSync(flags.pubkey, "utf8"));
      } catch {
        throw inputError("bad_pubkey", `${flags.pubkey} is not JSON`, { where: flags.pubkey, hint: "pass a JWKS file from `tappass keys export --jwks`" });
      }
      keys = (doc.keys ?? []).filter((k) => k.kty === "OKP" && k.crv === "Ed25519").map((k) => keysMod.ed25519FromJwks({ keys: [k] })).filter((k): k is { kid: string; public: Uint8Array } => !!k);
      if (!keys.length) throw inputError("bad_pubkey", `${flags.pubkey} has no Ed25519 key`, { where: flags.pubkey, hint: "pass a JWKS file from `tappass keys export --jwks`" });
    } else {
      keys = [keysMod.loadKeys().ed25519];
    }
    let env: unknown;
    let reason: string | undefined;
    try {
      env = JSON.parse(readFileSync(args.file, "utf8"));
    } catch (e) {
      reason = `not JSON: ${(e as Error).message}`;
    }
    const r = reason ? { ok: false as const, reason } : verifyEnvelope(env, keys);
    const out = r.ok
      ? { ok: true, file: args.file, agent: r.payload.agent, policy_version: r.payload.policy_version, expires_at: r.payload.expires_at }
      : { ok: false, file: args.file, reason: r.reason };
    this.output(out, (x) => (x.ok ? `ok: ${x.file} (agent ${"agent" in x ? x.agent : ""}, policy_version ${"policy_version" in x ? x.policy_version : ""})` : `INVALID: ${x.file}: ${"reason" in x ? x.reason : ""}`));
    if (!r.ok) {
      if (!this.jsonMode) process.stderr.write(`error: ${args.file}: ${r.reason} — recompile with \`tappass policy compile\` and verify against the right key\n`);
      this.exitWith(1);
    }
  }
}
