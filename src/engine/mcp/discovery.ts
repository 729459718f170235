/**
 * The runtime discovery queue (table mcp_tools). A tool the policy does not know is queued as
 * `pending`; an operator approves or denies it (`tappass tools approve|deny NAME`). Approval
 * (re-)pins the definition last advertised (tool_pins, ../pipeline/pins.ts), so a tool that
 * changed its description or schema (rug-pull) is blocked until someone approves it again.
 * The broker's decisions depend on these tables; it caches them and re-reads when
 * toolStateVersion() moves (any commit by another connection — `tappass tools approve` runs in
 * its own process — or a write through this module on this one), so decisions still apply
 * without a restart, on the very next list or call.
 */
import { inputError } from "../errors.ts";
import { pinTool, toolStateChanged } from "../pipeline/pins.ts";
import type { Db } from "../store/db.ts";
import type { Tool } from "./types.ts";

export type ToolStatus = "pending" | "approved" | "denied" | "seen";

export interface ToolRow {
  server: string;
  name: string;
  status: ToolStatus;
  seen_hash: string;
  description: string | null;
  input_schema: string | null;
  decided_by: string | null;
  first_seen: string;
  last_seen: string;
  decided_at: string | null;
}

// the tool tables' version lives with the pins (the pipeline's pin check keys its cache on it too)
export { toolHash, toolStateChanged, toolStateVersion } from "../pipeline/pins.ts";

export class ToolStore {
  constructor(readonly db: Db) {}

  get(server: string, name: string): ToolRow | undefined {
    return this.db.prepare<ToolRow>("SELECT * FROM mcp_tools WHERE server = ? AND name = ?").get(server, name);
  }

  byName(name: string): ToolRow[] {
    return this.db.prepare<ToolRow>("SELECT * FROM mcp_tools WHERE name = ? ORDER BY server").all(name);
  }

  list(status?: ToolStatus): ToolRow[] {
    return status
      ? this.db.prepare<ToolRow>("SELECT * FROM mcp_tools WHERE status = ? ORDER BY first_seen, server, name").all(status)
      : this.db.prepare<ToolRow>("SELECT * FROM mcp_tools ORDER BY first_seen, server, name").all();
  }

  /** Record a sighting: a new tool gets `status`; a known one only updates what it advertises now. */
  observe(server: string, t: Tool, hash: string, status: ToolStatus): ToolRow {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO mcp_tools (server, name, status, seen_hash, description, input_schema, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(server, name) DO UPDATE SET seen_hash = excluded.seen_hash, description = excluded.description,
           input_schema = excluded.input_schema, last_seen = excluded.last_seen`,
      )
      .run(server, t.name, status, hash, t.description ?? null, t.inputSchema ? JSON.stringify(t.inputSchema) : null, now, now);
    toolStateChanged(this.db);
    return this.get(server, t.name)!;
  }

  private decide(name: string, status: "approved" | "denied", by: string): ToolRow[] {
    const rows = this.byName(name);
    if (rows.length === 0) {
      throw inputError("unknown_tool", `no MCP tool named "${name}" has been discovered`, { hint: "run `tappass tools discovered` to see the queue" });
    }
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const r of rows) {
        this.db.prepare("UPDATE mcp_tools SET status = ?, decided_by = ?, decided_at = ? WHERE server = ? AND name = ?").run(status, by, now, r.server, r.name);
        if (status === "approved") pinTool(this.db, r.server, advertOf(r), by);
      }
    });
    toolStateChanged(this.db);
    return this.byName(name);
  }

  /** `tappass tools approve NAME`: approve, and pin the definition last advertised (on every server offering NAME). */
  approve(name: string, by = "operator"): ToolRow[] {
    return this.decide(name, "approved", by);
  }

  /** `tappass tools deny NAME`. */
  deny(name: string, by = "operator"): ToolRow[] {
    return this.decide(name, "denied", by);
  }

  /** A registered server that opted in approves its own new tools. */
  autoApprove(server: string, t: Tool): void {
    this.db
      .prepare("UPDATE mcp_tools SET status = 'approved', decided_by = ?, decided_at = ? WHERE server = ? AND name = ? AND status IN ('pending', 'seen')")
      .run(`auto-approve:${server}`, new Date().toISOString(), server, t.name);
    toolStateChanged(this.db);
  }
}

/** The definition a row last saw, as pins.ts hashes it. */
export function advertOf(r: ToolRow): Tool {
  return {
    name: r.name,
    ...(r.description !== null ? { description: r.description } : {}),
    ...(r.input_schema !== null ? { inputSchema: JSON.parse(r.input_schema) as Record<string, unknown> } : {}),
  };
}
