import type { Migration } from "../migrate.ts";

/** Tables owned by src/engine/pipeline. Append new versions; never edit an applied one. */
export const pipeline: Migration[] = [
  {
    version: 1,
    name: "budgets_rates_loops_sessions_pins",
    sql: `
CREATE TABLE pipeline_usage (
  key        TEXT PRIMARY KEY,   -- e.g. tokens:agent=mailer:day=2026-11-24
  used       REAL NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE TABLE pipeline_reservations (
  id         TEXT PRIMARY KEY,
  key        TEXT NOT NULL,
  amount     REAL NOT NULL,
  trace_id   TEXT,
  expires_at INTEGER NOT NULL
);
CREATE INDEX pipeline_reservations_key ON pipeline_reservations (key);
CREATE TABLE pipeline_events (
  key TEXT NOT NULL,             -- e.g. rpm:agent=mailer, loop:sess=s1:fp=ab12
  ts  INTEGER NOT NULL
);
CREATE INDEX pipeline_events_key_ts ON pipeline_events (key, ts);
CREATE TABLE pipeline_sessions (
  session_id TEXT PRIMARY KEY,
  agent      TEXT NOT NULL,
  killed_at  INTEGER,
  reason     TEXT
);
CREATE TABLE tool_pins (
  server      TEXT NOT NULL,
  tool        TEXT NOT NULL,
  hash        TEXT NOT NULL,
  description TEXT,
  input_schema TEXT,
  approved_at TEXT NOT NULL,
  approved_by TEXT,
  PRIMARY KEY (server, tool)
);`,
  },
  {
    version: 2,
    name: "bucketed_rate_counters",
    // Sliding windows as per-key counters in time buckets (window/60 wide): a check sums at
    // most ~61 rows instead of counting one row per event in the window (O(rate × window)).
    sql: `
CREATE TABLE pipeline_rate (
  key    TEXT NOT NULL,          -- e.g. rpm:agent=mailer|60000, loop:sess=s1:fp=ab12|300000
  bucket INTEGER NOT NULL,       -- floor(ts / bucket_ms)
  n      INTEGER NOT NULL,
  PRIMARY KEY (key, bucket)
) WITHOUT ROWID;
DROP TABLE pipeline_events;`,
  },
];
