import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";
import { writeOut } from "../../cli/stdio.ts";

export default class AuditExport extends BaseCommand {
  static override description =
    "Export the audit log: jsonl (rows as stored plus a signed checkpoint; `audit verify --file` checks it offline), ocsf (OCSF 1.1 API Activity events, one per line) or cef (ArcSight CEF lines).";
  static override examples = [
    "<%= config.bin %> audit export --format jsonl --out audit.jsonl",
    "<%= config.bin %> audit export --format ocsf --since 2026-01-01T00:00:00Z",
    "<%= config.bin %> audit export --format cef | logger -t tappass",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    format: Flags.string({ description: "output format", options: ["jsonl", "ocsf", "cef"], required: true }),
    since: Flags.string({ description: "only rows at or after this ISO-8601 time" }),
    out: Flags.string({ char: "o", description: "write to this file instead of stdout" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AuditExport);
    const { usageError } = await import("../../engine/errors.ts");
    let since: string | undefined;
    if (flags.since) {
      const t = Date.parse(flags.since);
      if (!Number.isFinite(t)) throw usageError(`--since "${flags.since}" is not an ISO-8601 time`, { hint: "e.g. --since 2026-01-31T00:00:00Z" });
      since = new Date(t).toISOString();
    }
    const { openState } = await import("../../engine/store/state.ts");
    const { loadKeys } = await import("../../engine/crypto/keys.ts");
    const { exportLines } = await import("../../engine/audit/export.ts");
    const db = openState();
    const lines = exportLines(db, loadKeys(), { format: flags.format as "jsonl" | "ocsf" | "cef", since });
    let n = 0;
    if (flags.out) {
      const { openSync, writeSync, closeSync, renameSync } = await import("node:fs");
      const tmp = `${flags.out}.tmp-${process.pid}`;
      const fd = openSync(tmp, "w", 0o600);
      let buf = "";
      for (const l of lines) {
        buf += `${l}\n`;
        n++;
        if (buf.length > 1 << 20) (writeSync(fd, buf), (buf = ""));
      }
      writeSync(fd, buf);
      closeSync(fd);
      renameSync(tmp, flags.out);
    } else {
      let buf = "";
      for (const l of lines) {
        buf += `${l}\n`;
        n++;
        if (buf.length > 1 << 20) (writeOut(buf), (buf = ""));
      }
      writeOut(buf);
    }
    const rows = flags.format === "jsonl" ? n - 1 : n;
    this.note(`exported ${rows} audit row(s) as ${flags.format}${flags.out ? ` to ${flags.out}` : ""}`);
    if (flags.out && this.jsonMode) this.output({ format: flags.format, rows, out: flags.out });
  }
}
