import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/audit. Append new versions; never edit an applied one. */
export const audit: Migration[] = [
  {
    version: 1,
    name: "audit_log",
    sql: `
CREATE TABLE audit_log (
  seq            INTEGER PRIMARY KEY,
  ts             TEXT NOT NULL,
  trace_id       TEXT NOT NULL,
  session_id     TEXT,
  agent_id       TEXT,
  sandbox_id     TEXT,
  policy_version INTEGER,
  surface        TEXT NOT NULL,
  decision       TEXT NOT NULL,
  content        TEXT,
  content_digest TEXT NOT NULL,
  erased         TEXT,
  prev_hash      TEXT NOT NULL,
  row_hash       TEXT NOT NULL,
  kid            TEXT NOT NULL,
  signature      TEXT NOT NULL
);
CREATE INDEX audit_log_trace ON audit_log (trace_id);
CREATE INDEX audit_log_agent ON audit_log (agent_id, seq);
CREATE INDEX audit_log_ts ON audit_log (ts);
CREATE TABLE audit_head (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  seq       INTEGER NOT NULL,
  row_hash  TEXT NOT NULL,
  kid       TEXT NOT NULL,
  signature TEXT NOT NULL
);`,
  },
];
