import type { Migration } from "../migrate.ts";

/** The install itself: key/value metadata (org name, created_at, ...). */
export const core: Migration[] = [
  {
    version: 1,
    name: "meta",
    sql: `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
];
