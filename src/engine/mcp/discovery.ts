/**
 * The runtime discovery queue and tool pins (table mcp_tools). A tool the policy does not
 * know is queued as `pending`; an operator approves or denies it (`tappass tools approve|deny`).
 * Each allowed tool is pinned: sha256 over canonical {name, description, inputSchema}. A later
 * definition with another hash (rug-pull, tool poisoning) is blocked until approved again,
 * which re-pins. The broker reads this table on every list and call, so decisions apply at once.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical.ts";
import { inputError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import type { Tool } from "./types.ts";

export type ToolStatus = "pending" | "approved" | "denied" | "seen";

export interface ToolRow {
  name: string;
  server: string;
  status: ToolStatus;
  pinned_hash: string | null;
  seen_hash: string;
  description: string | null;
  input_schema: string | null;
  decided_by: string | null;
  first_seen: string;
  last_seen: string;
  decided_at: string | null;
}

/** The pin of a tool definition. */
export function toolHash(t: Pick<Tool, "name" | "description" | "inputSchema">): string {
  return createHash("sha256")
    .update(canonicalJson({ name: t.name, description: t.description ?? null, inputSchema: t.inputSchema ?? null }))
    .digest("hex");
}

export class ToolStore {
  constructor(private readonly db: Db) {}

  get(name: string): ToolRow | undefined {
    return this.db.prepare<ToolRow>("SELECT * FROM mcp_tools WHERE name = ?").get(name);
  }

  list(status?: ToolStatus): ToolRow[] {
    return status
      ? this.db.prepare<ToolRow>("SELECT * FROM mcp_tools WHERE status = ? ORDER BY first_seen, name").all(status)
      : this.db.prepare<ToolRow>("SELECT * FROM mcp_tools ORDER BY first_seen, name").all();
  }

  /** Record a sighting. New tools get `status`; a known tool only updates what it advertises now. */
  observe(server: string, t: Tool, hash: string, status: ToolStatus, pin: boolean): ToolRow {
    const now = new Date().toISOString();
    const desc = t.description ?? null;
    const schema = t.inputSchema ? JSON.stringify(t.inputSchema) : null;
    this.db
      .prepare(
        `INSERT INTO mcp_tools (name, server, status, pinned_hash, seen_hash, description, input_schema, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET server = excluded.server, seen_hash = excluded.seen_hash,
           description = excluded.description, input_schema = excluded.input_schema, last_seen = excluded.last_seen,
           pinned_hash = COALESCE(mcp_tools.pinned_hash, excluded.pinned_hash)`,
      )
      .run(t.name, server, status, pin ? hash : null, hash, desc, schema, now, now);
    return this.get(t.name)!;
  }

  /** Pin the currently advertised definition (first approval of a policy-allowed tool). */
  pin(name: string, hash: string): void {
    this.db.prepare("UPDATE mcp_tools SET pinned_hash = ? WHERE name = ? AND pinned_hash IS NULL").run(hash, name);
  }

  /** `tappass tools approve NAME`: approve and (re-)pin the definition last advertised. */
  approve(name: string, by = "operator"): ToolRow {
    const row = this.get(name);
    if (!row) throw inputError("unknown_tool", `no MCP tool named "${name}" has been discovered`, { hint: "run `tappass tools discovered` to see the queue" });
    this.db
      .prepare("UPDATE mcp_tools SET status = 'approved', pinned_hash = seen_hash, decided_by = ?, decided_at = ? WHERE name = ?")
      .run(by, new Date().toISOString(), name);
    return this.get(name)!;
  }

  /** `tappass tools deny NAME`. */
  deny(name: string, by = "operator"): ToolRow {
    const row = this.get(name);
    if (!row) throw inputError("unknown_tool", `no MCP tool named "${name}" has been discovered`, { hint: "run `tappass tools discovered` to see the queue" });
    this.db.prepare("UPDATE mcp_tools SET status = 'denied', decided_by = ?, decided_at = ? WHERE name = ?").run(by, new Date().toISOString(), name);
    return this.get(name)!;
  }

  /** Auto-approval by a registered server that opted in. */
  autoApprove(name: string, server: string): void {
    this.db
      .prepare("UPDATE mcp_tools SET status = 'approved', pinned_hash = COALESCE(pinned_hash, seen_hash), decided_by = ?, decided_at = ? WHERE name = ? AND status = 'pending'")
      .run(`auto-approve:${server}`, new Date().toISOString(), name);
  }
}
