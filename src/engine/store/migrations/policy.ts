import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/policy. Append new versions; never edit an applied one. */
export const policy: Migration[] = [
  {
    version: 1,
    name: "registry, policy sources, compiled policies",
    sql: `
CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE agents (
  name TEXT PRIMARY KEY,
  project TEXT NOT NULL REFERENCES projects(name),
  function TEXT,
  categories TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL
);
CREATE INDEX agents_project ON agents(project);
-- One row per applied version of a cascade level's sources. target: '' (org), project or agent name.
-- spec: {"packs": [ids], "files": [{"path", "kind": "yaml"|"rego", "text"}]}
CREATE TABLE policy_sources (
  level TEXT NOT NULL CHECK (level IN ('org', 'project', 'agent')),
  target TEXT NOT NULL,
  version INTEGER NOT NULL,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (level, target, version)
);
-- Every compiled payload, by policy_version (monotonic per install), for diff and audit.
CREATE TABLE compiled_policies (
  policy_version INTEGER PRIMARY KEY,
  agent TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX compiled_policies_agent ON compiled_policies(agent, policy_version);
`,
  },
];
