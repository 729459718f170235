/**
 * When a governed call's row is committed, for the surfaces that answer an agent (the gateway,
 * the MCP broker): a refusal is committed before it is answered; an answer the pipeline allowed
 * goes out at once, its row queued before that (its place in the chain and its content fixed) and
 * committed right after, in the log's next group commit — as a stream's row is, which can only
 * be written once the stream has ended. The commit (an Ed25519 signature and a WAL write) then
 * overlaps the agent's next step instead of delaying the answer.
 *
 * A row that cannot be committed puts the trail at fault: the surface refuses every later call
 * until the log takes a row again, and the first refusal it can write names the call whose row
 * is missing, so the gap is itself in the log. `settled()` waits for rows still being committed
 * (before close or exit).
 */
export interface AuditFault {
  trace_id: string;
  message: string;
}

export class AuditTrail {
  private readonly pending = new Set<Promise<void>>();
  fault: AuditFault | undefined;

  /** `log` gets the one line that says a row could not be written (default: stderr). */
  constructor(private readonly log: (line: string) => void = (l) => process.stderr.write(`tappass: ${l}\n`)) {}

  /** Follow the commit of the row of `trace_id`, whose answer went out already. */
  follow<T>(trace_id: string, commit: Promise<T>, onCommitted?: (row: T) => void): Promise<void> {
    const p: Promise<void> = commit
      .then(
        (row) => onCommitted?.(row),
        (e) => {
          const f: AuditFault = { trace_id, message: (e as Error)?.message ?? String(e) };
          this.fault = f;
          this.log(AuditTrail.reason(f));
        },
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  /** Why calls are refused while the trail is at fault. */
  static reason(f: AuditFault): string {
    return `the audit row of call ${f.trace_id} could not be written (${f.message}); calls are refused until the audit log takes rows again`;
  }

  /** A refusal's row was committed while `f` stood: the log takes rows again. */
  recovered(f: AuditFault): void {
    if (this.fault === f) this.fault = undefined;
  }

  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
