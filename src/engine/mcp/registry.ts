/**
 * Registered MCP servers (table mcp_servers): `tappass mcp register --name N --url U [--auto-approve]`.
 * A server that opted in to auto-approve has its new tools approved (and pinned) on sight instead
 * of queued; deny lists, forbidden capabilities and pins still apply.
 */
import { inputError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { toolStateChanged } from "./discovery.ts";
import { isLoopbackUrl } from "./transports/upstream-http.ts";

export interface ServerRow {
  name: string;
  url: string;
  auto_approve: number;
  created_at: string;
}

export function registerServer(db: Db, s: { name: string; url: string; auto_approve: boolean }): { server: ServerRow; changed: boolean } {
  if (!/^[A-Za-z0-9_.-]+$/.test(s.name)) throw inputError("bad_server_name", `server name "${s.name}" may only hold letters, digits, '.', '_' and '-'`, { hint: "e.g. --name docs-server" });
  let url: URL;
  try {
    url = new URL(s.url);
  } catch {
    throw inputError("bad_url", `"${s.url}" is not a URL`, { hint: "give the server's Streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw inputError("bad_url", `"${s.url}" is not an http(s) URL`, { hint: "give the server's Streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp" });
  // the broker forwards only to this host (mcp proxy --upstream refuses others): say so now
  if (!isLoopbackUrl(url)) {
    throw inputError("bad_url", `"${s.url}" is not on this host; the MCP broker forwards to 127.0.0.1, [::1] or localhost only`, { hint: "run the server (or a tunnel to it) on this host and register its loopback URL" });
  }
  const before = getServer(db, s.name);
  db.prepare(
    `INSERT INTO mcp_servers (name, url, auto_approve, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET url = excluded.url, auto_approve = excluded.auto_approve`,
  ).run(s.name, url.toString(), s.auto_approve ? 1 : 0, new Date().toISOString());
  toolStateChanged(db);
  const server = getServer(db, s.name)!;
  return { server, changed: !before || before.url !== server.url || before.auto_approve !== server.auto_approve };
}

export function getServer(db: Db, name: string): ServerRow | undefined {
  return db.prepare<ServerRow>("SELECT * FROM mcp_servers WHERE name = ?").get(name);
}

export function serverByUrl(db: Db, url: string): ServerRow | undefined {
  let norm = url;
  try {
    norm = new URL(url).toString();
  } catch {}
  return db.prepare<ServerRow>("SELECT * FROM mcp_servers WHERE url = ?").get(norm);
}

export function listServers(db: Db): ServerRow[] {
  return db.prepare<ServerRow>("SELECT * FROM mcp_servers ORDER BY name").all();
}
