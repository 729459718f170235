import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/mcp. Append new versions; never edit an applied one. */
export const mcp: Migration[] = [
  {
    version: 1,
    name: "mcp_tools (discovery queue) and mcp_servers (registry)",
    sql: `
CREATE TABLE mcp_tools (
  server TEXT NOT NULL,
  name TEXT NOT NULL,
  -- pending: queued for approval · approved / denied: an operator's decision · seen: allowed by policy
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'seen')),
  -- the definition as last advertised (pins live in tool_pins, src/engine/pipeline/pins.ts)
  seen_hash TEXT NOT NULL,
  description TEXT,
  input_schema TEXT,
  decided_by TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  decided_at TEXT,
  PRIMARY KEY (server, name)
);
CREATE INDEX mcp_tools_name ON mcp_tools (name);
CREATE TABLE mcp_servers (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  auto_approve INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);`,
  },
  {
    version: 2,
    name: "mcp_launch_approvals (stdio servers exec may start outside the sandbox)",
    sql: `
CREATE TABLE mcp_launch_approvals (
  -- SHA-256 of the server's launch definition (src/engine/exec/mcp-approval.ts)
  fingerprint TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  definition TEXT NOT NULL,
  approved_at TEXT NOT NULL
);`,
  },
];
