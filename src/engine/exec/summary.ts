/** The one-screen summary `tappass exec` prints to stderr when the command ends. */
export interface ExecSummary {
  agent: string;
  session_id: string;
  policy_version: number;
  command: string[];
  exit_code: number;
  duration_ms: number;
  kernel: { confined: boolean; landlock_abi: number | null; reason?: string };
  llm: { calls: number; denied: number; tokens_in: number; tokens_out: number; cost_usd: number };
  hooks: { calls: number; denied: number };
  /** Calls the MCP brokers governed (tools/call, and server requests answered through them). */
  mcp: { calls: number; denied: number };
  egress: { attempts: number; denied: number };
  denials: Array<{ surface: string; what: string; reason: string; trace_id?: string }>;
  trace_ids: string[];
}

export function renderSummary(s: ExecSummary): string {
  const lines = [
    "",
    `── TapPass · ${s.agent} · policy v${s.policy_version} · session ${s.session_id.slice(0, 8)} ──`,
    `command   ${s.command.join(" ")}  → exit ${s.exit_code} in ${(s.duration_ms / 1000).toFixed(1)} s`,
    `kernel    ${s.kernel.confined ? `confined (Landlock ABI ${s.kernel.landlock_abi})` : `NOT confined${s.kernel.reason ? ` — ${s.kernel.reason}` : ""}`}`,
    `model     ${s.llm.calls} call(s), ${s.llm.denied} denied · ${s.llm.tokens_in} in / ${s.llm.tokens_out} out tokens · $${s.llm.cost_usd.toFixed(4)}`,
    `tools     ${s.hooks.calls} hook decision(s), ${s.hooks.denied} denied · ${s.mcp.calls} MCP call(s), ${s.mcp.denied} denied`,
    `egress    ${s.egress.attempts} attempt(s), ${s.egress.denied} denied`,
  ];
  if (s.denials.length > 0) {
    lines.push("denied:");
    for (const d of s.denials.slice(0, 8)) lines.push(`  ✘ [${d.surface}] ${d.what}: ${d.reason}${d.trace_id ? ` (trace ${d.trace_id})` : ""}`);
    if (s.denials.length > 8) lines.push(`  … ${s.denials.length - 8} more (tappass audit tail --json)`);
  }
  lines.push(`audit     ${s.trace_ids.length} row(s) this session · verify: tappass audit verify`);
  return `${lines.join("\n")}\n`;
}
