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
    const { usageError, fileError } = await import("../../engine/errors.ts");
    let since: string | undefined;
    if (flags.since) {
      const t = Date.parse(flags.since);
      if (!Number.isFinite(t)) throw usageError(`--since "${flags.since}" is not an ISO-8601 time`, { hint: "e.g. --since 2026-01-31T00:00:00Z" });
      since = new Date(t).toISOString();
    }
    // stdout carries the export itself, so it cannot also carry --json's one document
    if (this.jsonMode && !flags.out) throw usageError("--json needs --out FILE (without it, stdout is the export itself)", { hint: "e.g. audit export --format jsonl --out audit.jsonl --json" });
    const { openState } = await import("../../engine/store/state.ts");
    const { loadKeys } = await import("../../engine/crypto/keys.ts");
    const { exportLines } = await import("../../engine/audit/export.ts");
    const db = openState();
    const lines = exportLines(db, loadKeys(), { format: flags.format as "jsonl" | "ocsf" | "cef", since });
    let n: number;
    if (flags.out) {
      const { openSync, writeSync, closeSync, renameSync, rmSync } = await import("node:fs");
      // written beside the target and renamed over it: a failed export never leaves half a file
      const tmp = `${flags.out}.tmp-${process.pid}`;
      let fd: number | undefined;
      try {
        fd = openSync(tmp, "w", 0o600);
        const out = fd;
        n = writeLines(lines, (s) => writeSync(out, s));
        closeSync(fd);
        fd = undefined;
        renameSync(tmp, flags.out);
      } catch (e) {
        if (fd !== undefined) closeSync(fd);
        rmSync(tmp, { force: true });
        throw fileError(e, { verb: "write", path: flags.out }) ?? e;
      }
    } else n = writeLines(lines, writeOut);
    const rows = flags.format === "jsonl" ? n - 1 : n;
    this.note(`exported ${rows} audit row(s) as ${flags.format}${flags.out ? ` to ${flags.out}` : ""}`);
    if (flags.out && this.jsonMode) this.output({ format: flags.format, rows, out: flags.out });
  }
}

/** Writes lines (each ending in a newline) in chunks of about 1 MiB; returns how many. */
function writeLines(lines: Iterable<string>, write: (s: string) => unknown): number {
  let n = 0;
  let buf = "";
  for (const l of lines) {
    buf += `${l}\n`;
    n++;
    if (buf.length > 1 << 20) {
      write(buf);
      buf = "";
    }
  }
  write(buf);
  return n;
}
