/**
 * The registry: the org (one per TAPPASS_HOME, in meta), projects, agents (function and data
 * categories), and the versioned policy sources of each cascade level.
 */
import { inputError } from "../errors.ts";
import type { Db } from "../store/db.ts";
import { getMeta } from "../store/state.ts";
import { catalog } from "./catalog.ts";
import type { CascadeLevel } from "./types.ts";

export interface AgentRecord {
  name: string;
  project: string;
  function: string | null;
  categories: string[];
  created_at: string;
}

export interface SourceFile {
  /** As the user named it (normalised: `./x.yaml` is `x.yaml`); provenance says `file:<path>`. */
  path: string;
  /** The file's absolute path when applied: what tells two files of one name apart (absent in sources stored before it). */
  abs?: string;
  kind: "yaml" | "rego";
  text: string;
}

export interface SourceSpec {
  packs: string[];
  files: SourceFile[];
}

export interface LevelRef {
  level: CascadeLevel;
  /** "" for org */
  target: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw inputError("bad_name", `invalid ${kind} name "${name}"`, { hint: "use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit" });
  }
}

export const orgName = (db: Db): string => getMeta(db, "org") ?? "default";

export function projectExists(db: Db, name: string): boolean {
  return !!db.prepare("SELECT 1 AS x FROM projects WHERE name = ?").get(name);
}

export function createProject(db: Db, name: string): { project: string; created: boolean } {
  checkName("project", name);
  const r = db.prepare("INSERT INTO projects (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING").run(name, new Date().toISOString());
  return { project: name, created: r.changes > 0 };
}

export function listProjects(db: Db): Array<{ name: string; created_at: string; agents: number }> {
  return db
    .prepare<{ name: string; created_at: string; agents: number }>(
      "SELECT p.name, p.created_at, (SELECT COUNT(*) FROM agents a WHERE a.project = p.name) AS agents FROM projects p ORDER BY p.name",
    )
    .all();
}

interface AgentRow {
  name: string;
  project: string;
  function: string | null;
  categories: string;
  created_at: string;
}
const toAgent = (r: AgentRow): AgentRecord => ({ ...r, categories: JSON.parse(r.categories) as string[] });

export function getAgent(db: Db, name: string): AgentRecord | undefined {
  const r = db.prepare<AgentRow>("SELECT name, project, function, categories, created_at FROM agents WHERE name = ?").get(name);
  return r ? toAgent(r) : undefined;
}

export function requireAgent(db: Db, name: string): AgentRecord {
  const a = getAgent(db, name);
  if (!a) throw inputError("unknown_agent", `unknown agent "${name}"`, { hint: "create it with `tappass agent create NAME --project P` (list them with `tappass agent list`)" });
  return a;
}

export function listAgents(db: Db, project?: string): AgentRecord[] {
  const rows = project
    ? db.prepare<AgentRow>("SELECT name, project, function, categories, created_at FROM agents WHERE project = ? ORDER BY name").all(project)
    : db.prepare<AgentRow>("SELECT name, project, function, categories, created_at FROM agents ORDER BY name").all();
  return rows.map(toAgent);
}

export function createAgent(db: Db, a: { name: string; project: string; function?: string | null; categories?: string[] }): { agent: AgentRecord; created: boolean } {
  checkName("agent", a.name);
  const cat = catalog();
  if (!projectExists(db, a.project)) {
    throw inputError("unknown_project", `unknown project "${a.project}"`, { hint: `create it first: tappass project create ${a.project}` });
  }
  if (a.function && !cat.functions[a.function]) {
    throw inputError("unknown_function", `unknown function "${a.function}"`, { hint: `known functions: ${Object.keys(cat.functions).join(", ")}` });
  }
  const categories = [...new Set(a.categories ?? [])];
  for (const c of categories) {
    if (!cat.categories[c]) throw inputError("unknown_category", `unknown data category "${c}"`, { hint: `known categories: ${Object.keys(cat.categories).join(", ")}` });
  }
  const existing = getAgent(db, a.name);
  if (existing) {
    const same = existing.project === a.project && existing.function === (a.function ?? null) && JSON.stringify([...existing.categories].sort()) === JSON.stringify([...categories].sort());
    if (same) return { agent: existing, created: false };
    throw inputError("agent_exists", `agent "${a.name}" already exists with a different project, function or categories`, { hint: "choose another name" });
  }
  const rec: AgentRecord = { name: a.name, project: a.project, function: a.function ?? null, categories, created_at: new Date().toISOString() };
  db.prepare("INSERT INTO agents (name, project, function, categories, created_at) VALUES (?, ?, ?, ?, ?)").run(rec.name, rec.project, rec.function, JSON.stringify(rec.categories), rec.created_at);
  return { agent: rec, created: true };
}

/** Parse "org" | "project=NAME" | "agent=NAME" and check the target exists. */
export function parseLevel(db: Db, s: string): LevelRef {
  if (s === "org") return { level: "org", target: "" };
  const m = /^(project|agent)=(.+)$/.exec(s);
  if (!m) throw inputError("bad_level", `invalid --level "${s}"`, { hint: "use org, project=NAME or agent=NAME" });
  const level = m[1] as "project" | "agent";
  const target = m[2] as string;
  if (level === "project" && !projectExists(db, target)) throw inputError("unknown_project", `unknown project "${target}"`, { hint: `create it first: tappass project create ${target}` });
  if (level === "agent") requireAgent(db, target);
  return { level, target };
}

export function currentSources(db: Db, ref: LevelRef): { version: number; spec: SourceSpec } {
  const r = db
    .prepare<{ version: number; spec: string }>("SELECT version, spec FROM policy_sources WHERE level = ? AND target = ? ORDER BY version DESC LIMIT 1")
    .get(ref.level, ref.target);
  return r ? { version: r.version, spec: JSON.parse(r.spec) as SourceSpec } : { version: 0, spec: { packs: [], files: [] } };
}

export function saveSources(db: Db, ref: LevelRef, spec: SourceSpec): number {
  const next = currentSources(db, ref).version + 1;
  db.prepare("INSERT INTO policy_sources (level, target, version, spec, created_at) VALUES (?, ?, ?, ?, ?)").run(ref.level, ref.target, next, JSON.stringify(spec), new Date().toISOString());
  return next;
}
