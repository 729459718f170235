/**
 * Tool pinning ("rug-pull" defence): on first approval the hash of a tool's name, description
 * and inputSchema is stored; if the server later advertises a different description or schema,
 * the tool is denied until someone approves it again (pinTool overwrites the pin).
 * The MCP broker calls pinTool on approval and checkPin on tools/list and tools/call.
 */
import { canonicalText, sha256hex } from "../audit/chain.ts";
import { canonicalJson } from "../canonical.ts";
import type { Db } from "../store/db.ts";

export interface ToolAdvert {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

export type PinCheck =
  | { status: "unpinned"; hash: string }
  | { status: "match"; hash: string; approved_at: string }
  | { status: "changed"; hash: string; pinned_hash: string; approved_at: string; changed: Array<"description" | "inputSchema" | "name"> };

/** SHA-256 over canonical {name, description, inputSchema}. */
export function toolHash(tool: ToolAdvert): string {
  return sha256hex(canonicalText({ name: tool.name, description: tool.description ?? "", inputSchema: tool.inputSchema ?? null }));
}

/** Pin (or re-approve) a tool as advertised now. */
export function pinTool(db: Db, server: string, tool: ToolAdvert, approvedBy?: string): { hash: string } {
  const hash = toolHash(tool);
  db.prepare(
    `INSERT INTO tool_pins (server, tool, hash, description, input_schema, approved_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(server, tool) DO UPDATE SET hash = excluded.hash, description = excluded.description, input_schema = excluded.input_schema,
       approved_at = excluded.approved_at, approved_by = excluded.approved_by`,
  ).run(server, tool.name, hash, tool.description ?? null, tool.inputSchema ? canonicalJson(tool.inputSchema) : null, new Date().toISOString(), approvedBy ?? null);
  return { hash };
}

export function checkPin(db: Db, server: string, tool: ToolAdvert): PinCheck {
  const hash = toolHash(tool);
  const row = db
    .prepare<{ hash: string; description: string | null; input_schema: string | null; approved_at: string }>(
      "SELECT hash, description, input_schema, approved_at FROM tool_pins WHERE server = ? AND tool = ?",
    )
    .get(server, tool.name);
  if (!row) return { status: "unpinned", hash };
  if (row.hash === hash) return { status: "match", hash, approved_at: row.approved_at };
  const changed: Array<"description" | "inputSchema" | "name"> = [];
  if ((row.description ?? "") !== (tool.description ?? "")) changed.push("description");
  if ((row.input_schema ?? null) !== (tool.inputSchema ? canonicalJson(tool.inputSchema) : null)) changed.push("inputSchema");
  if (changed.length === 0) changed.push("name");
  return { status: "changed", hash, pinned_hash: row.hash, approved_at: row.approved_at, changed };
}

export function listPins(db: Db, server?: string): Array<{ server: string; tool: string; hash: string; approved_at: string }> {
  return server === undefined
    ? db.prepare<{ server: string; tool: string; hash: string; approved_at: string }>("SELECT server, tool, hash, approved_at FROM tool_pins ORDER BY server, tool").all()
    : db.prepare<{ server: string; tool: string; hash: string; approved_at: string }>("SELECT server, tool, hash, approved_at FROM tool_pins WHERE server = ? ORDER BY tool").all(server);
}
