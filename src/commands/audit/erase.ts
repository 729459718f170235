import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base.ts";

export default class AuditErase extends BaseCommand {
  static override description =
    "Erase the content of a trace's audit rows (e.g. a GDPR request): it is replaced by a signed tombstone, the chain still verifies, and the erasure is itself audited.";
  static override examples = ["<%= config.bin %> audit erase --trace 5d559bd1489082c410a4c1cc853171ad --reason 'GDPR art. 17 request #88'"];
  static override flags = {
    ...BaseCommand.baseFlags,
    trace: Flags.string({ description: "trace id whose rows to erase", required: true }),
    reason: Flags.string({ description: "why (recorded in the tombstone and the audit row)", default: "erasure request" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AuditErase);
    const { openState } = await import("../../engine/store/state.ts");
    const { loadKeys } = await import("../../engine/crypto/keys.ts");
    const { eraseTrace } = await import("../../engine/audit/erase.ts");
    const r = await eraseTrace(openState(), loadKeys(), flags.trace, { reason: flags.reason });
    this.output(r, (x) => (x.erased.length ? `erased ${x.erased.length} row(s) of trace ${x.trace_id} (seq ${x.erased.join(", ")}); recorded as row ${x.audit_seq}` : `trace ${x.trace_id} was already erased; recorded as row ${x.audit_seq}`));
  }
}
