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

/** toolHash by schema object (a server's listed definition is one parsed object, checked on every call). */
const hashes = new WeakMap<object, Map<string, string>>();

/** SHA-256 over canonical {name, description, inputSchema}. */
export function toolHash(tool: ToolAdvert): string {
  const schema = tool.inputSchema;
  const key = `${tool.name}\u0000${tool.description ?? ""}`;
  const known = schema ? hashes.get(schema)?.get(key) : undefined;
  if (known) return known;
  const h = sha256hex(canonicalText({ name: tool.name, description: tool.description ?? "", inputSchema: schema ?? null }));
  if (schema) {
    let m = hashes.get(schema);
    if (!m) hashes.set(schema, (m = new Map()));
    m.set(key, h);
  }
  return h;
}

/** Writes to the tool tables made through this process's connection (PRAGMA data_version does not count them). */
const localWrites = new WeakMap<Db, number>();

/** Note a write to mcp_tools / mcp_servers / tool_pins made on `db` (invalidates the caches keyed on toolStateVersion). */
export function toolStateChanged(db: Db): void {
  localWrites.set(db, (localWrites.get(db) ?? 0) + 1);
}

/**
 * A value that changes whenever the tool tables may have changed: SQLite's data_version (bumped
 * by every commit of ANOTHER connection, e.g. the CLI approving a tool) and this process's own
 * writes (toolStateChanged). One cheap PRAGMA instead of the reads a decision or a pin check takes.
 */
export function toolStateVersion(db: Db): string {
  const v = db.prepare<{ data_version: number }>("PRAGMA data_version").get()?.data_version ?? 0;
  return `${v}:${localWrites.get(db) ?? 0}`;
}

type PinRow = { hash: string; description: string | null; input_schema: string | null; approved_at: string };

/** Pin rows this process read, while toolStateVersion holds: a call's pin check is then one pragma instead of a row lookup. */
const pinRows = new WeakMap<Db, { version: string; rows: Map<string, PinRow | null> }>();

function pinRow(db: Db, server: string, tool: string): PinRow | undefined {
  const version = toolStateVersion(db);
  let c = pinRows.get(db);
  if (!c || c.version !== version) pinRows.set(db, (c = { version, rows: new Map() }));
  const k = `${server}\u0000${tool}`;
  const cached = c.rows.get(k);
  if (cached !== undefined) return cached ?? undefined;
  const row = db.prepare<PinRow>("SELECT hash, description, input_schema, approved_at FROM tool_pins WHERE server = ? AND tool = ?").get(server, tool);
  c.rows.set(k, row ?? null);
  return row;
}

/** Pin (or re-approve) a tool as advertised now. */
export function pinTool(db: Db, server: string, tool: ToolAdvert, approvedBy?: string): { hash: string } {
  const hash = toolHash(tool);
  db.prepare(
    `INSERT INTO tool_pins (server, tool, hash, description, input_schema, approved_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(server, tool) DO UPDATE SET hash = excluded.hash, description = excluded.description, input_schema = excluded.input_schema,
       approved_at = excluded.approved_at, approved_by = excluded.approved_by`,
  ).run(server, tool.name, hash, tool.description ?? null, tool.inputSchema ? canonicalJson(tool.inputSchema) : null, new Date().toISOString(), approvedBy ?? null);
  toolStateChanged(db);
  return { hash };
}

export function checkPin(db: Db, server: string, tool: ToolAdvert): PinCheck {
  const hash = toolHash(tool);
  const row = pinRow(db, server, tool.name);
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
