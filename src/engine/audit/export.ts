/**
 * Export formats: jsonl (the rows as stored + a signed checkpoint line; `audit verify --file`
 * checks it offline; a slice that starts mid-chain gives its first row the previous row's
 * signature as `prev_signature`, which that row's v2 hash covers), OCSF 1.1 API Activity events, and ArcSight CEF lines for SIEMs.
 */
import type { Keys } from "../crypto/keys.ts";
import type { Db } from "../store/db.ts";
import { checkpointSigningBytes } from "./chain.ts";
import { fromDbRow, iterateDbRows } from "./read.ts";
import { makeSigner } from "./signer.ts";
import type { AuditRow } from "./types.ts";

export type ExportFormat = "jsonl" | "ocsf" | "cef";
export const EXPORT_FORMATS: ExportFormat[] = ["jsonl", "ocsf", "cef"];

/** Streams export lines (each without trailing newline). */
export function* exportLines(db: Db, keys: Keys, opts: { format: ExportFormat; since?: string }): Generator<string> {
  const signer = makeSigner(keys.ed25519);
  let first: number | null = null;
  let last: AuditRow | undefined;
  let count = 0;
  db.exec("BEGIN DEFERRED");
  try {
    for (const r of iterateDbRows(db, { since: opts.since })) {
      const row = fromDbRow(r);
      let prevSignature: string | undefined;
      if (first === null) {
        first = row.seq;
        // A slice that starts mid-chain: a v2 row's hash covers the previous row's signature.
        if (row.seq > 1) prevSignature = db.prepare<{ signature: string }>("SELECT signature FROM audit_log WHERE seq = ?").get(row.seq - 1)?.signature;
      }
      last = row;
      count++;
      if (opts.format === "jsonl") yield JSON.stringify(prevSignature === undefined ? jsonlRow(row) : { ...jsonlRow(row), prev_signature: prevSignature });
      else if (opts.format === "ocsf") yield JSON.stringify(toOcsf(row));
      else yield toCef(row);
    }
  } finally {
    db.exec("COMMIT");
  }
  if (opts.format === "jsonl") {
    const cp: Record<string, unknown> = {
      type: "checkpoint",
      first_seq: first,
      last_seq: last?.seq ?? null,
      count,
      head_hash: last?.row_hash ?? null,
      since: opts.since ?? null,
      exported_at: new Date().toISOString(),
      kid: signer.kid,
    };
    cp.signature = signer.sign(checkpointSigningBytes(cp));
    yield JSON.stringify(cp);
  }
}

function jsonlRow(r: AuditRow): Record<string, unknown> {
  const { erased, ...rest } = r;
  return erased ? { ...rest, step_decisions: null, meta: null, erased } : rest;
}

const SEVERITY: Record<string, number> = { allow: 1, notify: 2, redact: 2, deny: 4 };

function deniedBy(r: AuditRow): { step: string; reason: string } | undefined {
  const d = r.meta?.denied_by as { step?: string; reason?: string } | undefined;
  return d?.step ? { step: d.step, reason: String(d.reason ?? "") } : undefined;
}

/** OCSF 1.1.0 "API Activity" (class 6003): one event per governed call. */
export function toOcsf(r: AuditRow): Record<string, unknown> {
  const denied = r.decision === "deny";
  const activity = r.surface === "mcp" || r.surface === "hook" ? 99 : 99; // "Other": a governed agent call
  const d = deniedBy(r);
  return {
    class_uid: 6003,
    class_name: "API Activity",
    category_uid: 6,
    category_name: "Application Activity",
    activity_id: activity,
    activity_name: `governed ${r.surface} call`,
    type_uid: 6003 * 100 + activity,
    time: Date.parse(r.ts),
    severity_id: SEVERITY[r.decision] ?? 1,
    status_id: denied ? 2 : 1,
    status: denied ? "Failure" : "Success",
    status_detail: d ? `${d.step}: ${d.reason}` : r.decision,
    disposition_id: denied ? 2 : r.decision === "redact" ? 11 : 1,
    metadata: {
      version: "1.1.0",
      product: { name: "TapPass", vendor_name: "TapPass" },
      uid: r.trace_id,
      log_name: "tappass-audit",
      sequence: r.seq,
      correlation_uid: r.session_id,
    },
    actor: { app_name: r.agent_id, session: { uid: r.session_id } },
    api: { operation: r.surface, service: { name: `tappass-${r.surface}` } },
    unmapped: {
      sandbox_id: r.sandbox_id,
      policy_version: r.policy_version,
      decision: r.decision,
      step_decisions: r.erased ? null : r.step_decisions,
      meta: r.erased ? null : r.meta,
      row_hash: r.row_hash,
      prev_hash: r.prev_hash,
      signature: r.signature,
    },
  };
}

const cefHeader = (s: string) => s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ");
const cefValue = (s: string) => s.replace(/\\/g, "\\\\").replace(/=/g, "\\=").replace(/\r?\n/g, "\\n");

/** ArcSight CEF:0 line. */
export function toCef(r: AuditRow): string {
  const d = deniedBy(r);
  const sev = r.decision === "deny" ? 8 : r.decision === "allow" ? 2 : 5;
  const ext: Array<[string, string | number | null | undefined]> = [
    ["rt", Date.parse(r.ts)],
    ["act", r.decision],
    ["suser", r.agent_id],
    ["msg", d?.reason],
  ];
  const custom: Array<[string, string, string | number | null | undefined]> = [
    ["cn1", "seq", r.seq],
    ["cs1", "trace_id", r.trace_id],
    ["cs2", "session_id", r.session_id],
    ["cs3", "row_hash", r.row_hash],
    ["cs4", "policy_version", r.policy_version],
    ["cs5", "sandbox_id", r.sandbox_id],
    ["cs6", "denied_by", d?.step],
  ];
  for (const [k, label, v] of custom) if (v !== null && v !== undefined && v !== "") ext.push([`${k}Label`, label], [k, v]);
  const extText = ext
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(" ");
  return `CEF:0|TapPass|TapPass|1|${cefHeader(`${r.surface}.${r.decision}`)}|${cefHeader(`governed ${r.surface} call ${r.decision}`)}|${sev}|${extText}`;
}
