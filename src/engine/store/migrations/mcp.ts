import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/mcp. Append new versions; never edit an applied one. */
export const mcp: Migration[] = [
  {
    version: 1,
    name: "mcp_tools and mcp_servers",
    sql: `
CREATE TABLE mcp_tools (
  name TEXT PRIMARY KEY,
  server TEXT NOT NULL,
  -- pending: queued for approval · approved / denied: an operator's decision · seen: allowed by policy, pinned
  status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'seen')),
  -- sha256 of name + description + inputSchema when the tool was approved / first allowed
  pinned_hash TEXT,
  -- the definition as last advertised (differs from the pin after a rug-pull)
  seen_hash TEXT NOT NULL,
  description TEXT,
  input_schema TEXT,
  decided_by TEXT,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  decided_at TEXT
);
CREATE TABLE mcp_servers (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  auto_approve INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);`,
  },
];
