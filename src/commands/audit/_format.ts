/** Human rendering of audit rows (shared by tail). Not a command (leading underscore). */
import type { AuditRow } from "../../engine/audit/types.ts";

export function rowLine(r: AuditRow): string {
  const d = r.meta?.denied_by as { step?: string; reason?: string } | undefined;
  const tools = Array.isArray(r.meta?.tools) ? ` tools=${(r.meta.tools as Array<{ name: string }>).map((t) => t.name).join(",")}` : "";
  const model = r.meta?.model ? ` model=${String(r.meta.model)}` : "";
  const why = d?.step ? `  ${d.step}: ${d.reason ?? ""}` : "";
  const erased = r.erased ? " [erased]" : "";
  return `${String(r.seq).padStart(6)} ${r.ts} ${(r.agent_id ?? "-").padEnd(12)} ${r.surface.padEnd(5)} ${r.decision.padEnd(6)} ${r.trace_id}${model}${tools}${erased}${why}`;
}
