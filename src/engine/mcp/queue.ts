/** What `tappass tools discovered|approve|deny` show and do (thin over ToolStore). */
import { checkPin, toolHash } from "../pipeline/pins.ts";
import type { Db } from "../store/db.ts";
import { advertOf, type ToolStatus, ToolStore } from "./discovery.ts";

export interface DiscoveredTool {
  name: string;
  server: string;
  status: ToolStatus;
  /** pin state of the definition last advertised: pinned (matches) · changed (blocked) · unpinned */
  pin: "pinned" | "changed" | "unpinned";
  hash: string;
  description: string | null;
  input_schema: Record<string, unknown> | null;
  first_seen: string;
  last_seen: string;
  decided_by: string | null;
  decided_at: string | null;
}

export function discoveredTools(db: Db, status?: ToolStatus): DiscoveredTool[] {
  return new ToolStore(db).list(status).map((r) => {
    const advert = advertOf(r);
    const pin = checkPin(db, r.server, advert);
    return {
      name: r.name,
      server: r.server,
      status: r.status,
      pin: pin.status === "match" ? "pinned" : pin.status,
      hash: r.seen_hash,
      description: r.description,
      input_schema: r.input_schema ? (JSON.parse(r.input_schema) as Record<string, unknown>) : null,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
      decided_by: r.decided_by,
      decided_at: r.decided_at,
    };
  });
}

export function decideQueued(db: Db, name: string, status: "approved" | "denied"): { name: string; status: string; servers: string[]; pins: string[] } {
  const store = new ToolStore(db);
  const rows = status === "approved" ? store.approve(name) : store.deny(name);
  return { name, status, servers: rows.map((r) => r.server), pins: status === "approved" ? rows.map((r) => toolHash(advertOf(r))) : [] };
}
