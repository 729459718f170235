/**
 * Approval of the stdio MCP servers `exec` starts. They run on the governor's side of the kernel
 * ring — unconfined — and their definitions come from `.mcp.json` in the workspace, which the
 * agent can write. So a server starts only when its launch definition was approved: its command,
 * arguments, env and directory, and the contents of every file among them that lies inside the
 * workspace (a script the agent could edit). A definition the agent added or changed is new, and
 * waits for the operator (`tappass exec --approve-mcp …`).
 */
import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { canonicalJson } from "../canonical.ts";
import type { Db } from "../store/db.ts";

export interface StdioServer {
  command: string;
  args?: string[];
  env?: Record<string, string>;
}

export interface LaunchDefinition {
  name: string;
  fingerprint: string;
  /** What the operator is shown, and what is stored. */
  definition: { command: string; args: string[]; env: Record<string, string>; cwd: string; workspace_files: Record<string, string> };
}

const within = (root: string, p: string) => {
  const r = relative(root, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
};

/** The definition and its fingerprint; `cwd` is the workspace (where the server is started). */
export function launchDefinition(name: string, s: StdioServer, cwd: string): LaunchDefinition {
  const workspace = realOr(cwd);
  const files: Record<string, string> = {};
  for (const word of [s.command, ...(s.args ?? [])]) {
    const p = realOr(resolve(cwd, word));
    if (!within(workspace, p)) continue;
    try {
      if (statSync(p).isFile()) files[relative(workspace, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    } catch {
      // not a file: a word like "stdio" or "--port"
    }
  }
  const definition = { command: s.command, args: s.args ?? [], env: s.env ?? {}, cwd: workspace, workspace_files: files };
  return { name, definition, fingerprint: createHash("sha256").update(canonicalJson(definition)).digest("hex") };
}

function realOr(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return p;
  }
}

export function isApproved(db: Db, d: LaunchDefinition): boolean {
  return !!db.prepare("SELECT 1 AS x FROM mcp_launch_approvals WHERE fingerprint = ?").get(d.fingerprint);
}

export function approve(db: Db, d: LaunchDefinition): void {
  db.prepare("INSERT OR REPLACE INTO mcp_launch_approvals (fingerprint, name, definition, approved_at) VALUES (?, ?, ?, ?)").run(
    d.fingerprint,
    d.name,
    canonicalJson(d.definition),
    new Date().toISOString(),
  );
}
