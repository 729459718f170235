/**
 * Versioned migrations, one list per subsystem (src/engine/store/migrations/<subsystem>.ts),
 * so subsystems evolve their tables without touching each other. Applied in order inside one
 * transaction per migration; `schema_migrations` records (subsystem, version).
 */
import type { Db } from "./db.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function migrate(db: Db, subsystems: Record<string, Migration[]>): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    subsystem TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (subsystem, version))`);
  const applied = new Set(
    db.prepare<{ subsystem: string; version: number }>("SELECT subsystem, version FROM schema_migrations").all().map((r) => `${r.subsystem}:${r.version}`),
  );
  const done: string[] = [];
  for (const [subsystem, list] of Object.entries(subsystems)) {
    for (const m of [...list].sort((a, b) => a.version - b.version)) {
      const key = `${subsystem}:${m.version}`;
      if (applied.has(key)) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.prepare("INSERT INTO schema_migrations (subsystem, version, name, applied_at) VALUES (?, ?, ?, ?)").run(
          subsystem, m.version, m.name, new Date().toISOString(),
        );
      });
      done.push(`${key} ${m.name}`);
    }
  }
  return done;
}
