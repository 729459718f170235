import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";
import { writeOut } from "../../cli/stdio.ts";

export default class AuditTail extends BaseCommand {
  static override description = "Show the newest audit rows (one per governed call); --follow keeps printing new rows as they are appended.";
  static override examples = [
    "<%= config.bin %> audit tail",
    "<%= config.bin %> audit tail --agent mailer --json",
    "<%= config.bin %> audit tail --follow --json   # one JSON object per line",
  ];
  static override flags = {
    ...BaseCommand.baseFlags,
    follow: Flags.boolean({ char: "f", description: "keep running and print rows as they are appended (JSON: one object per line)", default: false }),
    agent: Flags.string({ description: "only rows of this agent" }),
    limit: Flags.integer({ char: "n", description: "how many of the newest rows to show first", default: 20, min: 0 }),
    interval: Flags.integer({ description: "--follow poll interval in ms", default: 250, min: 10 }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AuditTail);
    const { openState } = await import("../../engine/store/state.ts");
    const { tailRows, readRows } = await import("../../engine/audit/read.ts");
    const { rowLine } = await import("./_format.ts");
    const db = openState();
    const first = tailRows(db, { agent: flags.agent, limit: flags.limit });
    if (flags.agent && first.length === 0) {
      // a typo must not look like a quiet agent: an agent neither registered nor in the log is unknown
      const known = db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'agents'").get() && db.prepare("SELECT 1 AS x FROM agents WHERE name = ?").get(flags.agent);
      if (!known) {
        const { inputError } = await import("../../engine/errors.ts");
        throw inputError("unknown_agent", `unknown agent "${flags.agent}": not registered and not in the audit log`, { hint: "list agents with `tappass agent list`" });
      }
    }
    if (!flags.follow) {
      this.output({ rows: first }, (x) => (x.rows.length ? x.rows.map(rowLine).join("\n") : "no audit rows yet"));
      return;
    }
    const print = (r: (typeof first)[number]) => writeOut(`${this.jsonMode ? JSON.stringify(r) : rowLine(r)}\n`);
    for (const r of first) print(r);
    let last = first.length ? (first[first.length - 1]?.seq ?? 0) : (db.prepare<{ s: number | null }>("SELECT max(seq) AS s FROM audit_log").get()?.s ?? 0);
    globalThis.__tappassKeepAlive = true;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        try {
          const rows = readRows(db, { after_seq: last, agent: flags.agent, limit: 1000 });
          for (const r of rows) print(r);
          if (rows.length) last = rows[rows.length - 1]?.seq ?? last;
        } catch (e) {
          this.note(`audit tail: ${(e as Error).message}`);
        }
      }, flags.interval);
      const stop = () => {
        clearInterval(timer);
        resolve();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  }
}
