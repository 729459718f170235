import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class AuditVerify extends BaseCommand {
  static override description =
    "Verify the audit chain offline: every row links to the one before and matches its hash, and the chain — whose hashes also cover every row's signature — is signed by a published Ed25519 key; the signed head (sealed just after each write; rows written since are reported as unsealed) or an export's signed checkpoint catches truncation. Detects any modified, deleted, inserted or reordered row and names the first bad seq. --full also verifies each row's own signature (slower). Exit 0 intact, 1 broken.";
  static override examples = [
    "<%= config.bin %> audit verify",
    "<%= config.bin %> audit verify --db /backup/state.db --pubkey tappass.jwks.json --json",
    "<%= config.bin %> audit verify --full   # every row's Ed25519 signature too",
    "<%= config.bin %> audit export --format jsonl --out audit.jsonl && <%= config.bin %> audit verify --file audit.jsonl --pubkey tappass.jwks.json",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    db: Flags.string({ description: "a state.db to verify (default: TAPPASS_HOME/state.db)", exclusive: ["file"] }),
    file: Flags.string({ description: "a JSONL export (`audit export --format jsonl`) to verify", exclusive: ["db"] }),
    pubkey: Flags.string({ description: "JWKS file with the Ed25519 public key(s) (`tappass keys export --jwks`); default: this install's key" }),
    full: Flags.boolean({
      description: "verify every row's own Ed25519 signature too (default: every hash and link, and the signature that ends the chain, which covers the rest)",
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AuditVerify);
    const { existsSync, readFileSync } = await import("node:fs");
    const { inputError } = await import("../../engine/errors.ts");
    const { makeVerifier } = await import("../../engine/audit/signer.ts");
    const { verifyDbAsync, verifyJsonlFile } = await import("../../engine/audit/verify.ts");
    const opts = { full: flags.full };

    let pubs: Array<{ kid: string; public: Uint8Array }>;
    if (flags.pubkey) {
      let doc: { keys?: Array<Record<string, unknown>> };
      try {
        doc = JSON.parse(readFileSync(flags.pubkey, "utf8"));
      } catch (e) {
        throw inputError("bad_pubkey", `cannot read a JWKS from ${flags.pubkey}`, { hint: "create one with `tappass keys export --jwks > keys.json`", cause: e });
      }
      pubs = (doc.keys ?? [])
        .filter((k) => k.kty === "OKP" && k.crv === "Ed25519" && typeof k.x === "string")
        .map((k) => ({ kid: String(k.kid ?? ""), public: new Uint8Array(Buffer.from(String(k.x), "base64url")) }));
      if (pubs.length === 0) throw inputError("bad_pubkey", `${flags.pubkey} holds no Ed25519 key`, { hint: "use the JWKS from `tappass keys export --jwks`" });
    } else {
      const { loadKeys } = await import("../../engine/crypto/keys.ts");
      pubs = [loadKeys().ed25519];
    }
    const verifier = makeVerifier(pubs);

    let result: Awaited<ReturnType<typeof verifyDbAsync>>;
    let source: string;
    if (flags.file) {
      source = flags.file;
      result = verifyJsonlFile(flags.file, verifier, opts);
    } else if (flags.db) {
      if (!existsSync(flags.db)) throw inputError("file_not_found", `no database at ${flags.db}`, { hint: "pass the path of a TapPass state.db" });
      const { openDb } = await import("../../engine/store/db.ts");
      const db = openDb(flags.db, { readonly: true });
      source = flags.db;
      try {
        result = await verifyDbAsync(db, verifier, opts);
      } finally {
        db.close();
      }
    } else {
      const { openState } = await import("../../engine/store/state.ts");
      const db = openState();
      source = db.path;
      result = await verifyDbAsync(db, verifier, opts);
    }
    this.output({ ...result, source }, (r) =>
      r.ok
        ? `audit chain intact: ${r.rows} row(s)${r.rows ? ` (seq ${r.first_seq}..${r.last_seq})` : ""}${r.erased ? `, ${r.erased} erased` : ""}${r.unsealed ? `, ${r.unsealed} written since the head was last sealed` : ""}, head ${r.head_hash ?? "-"}, ${r.mode === "full" ? "every signature verified" : "chain signature verified"} — ${r.source}`
        : `audit chain BROKEN at seq ${r.first_bad_seq}: ${r.reason} — ${r.source}`,
    );
    if (!result.ok) this.exitWith(1);
  }
}
