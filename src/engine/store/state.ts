/**
 * The install's state: TAPPASS_HOME/state.db, migrated to the current schema on open.
 * Commands that need an initialised home call openState(); it fails with a clear
 * "run tappass init" when there is none.
 */
import { existsSync } from "node:fs";
import { inputError } from "../errors.ts";
import { statePath, tappassHome } from "../home.ts";
import { type Db, openDb } from "./db.ts";
import { migrate } from "./migrate.ts";
import { allMigrations } from "./migrations/index.ts";

const open = new Map<string, Db>();

export function openState(home = tappassHome(), opts: { create?: boolean } = {}): Db {
  const path = statePath(home);
  const cached = open.get(path);
  if (cached) return cached;
  if (!opts.create && !existsSync(path)) {
    throw inputError("not_initialised", `no TapPass state at ${home}`, { hint: "run `tappass init` first (or set TAPPASS_HOME)" });
  }
  const db = openDb(path);
  migrate(db, allMigrations);
  open.set(path, db);
  return db;
}

/** Close every cached handle (tests, and before exit). */
export function closeAllState(): void {
  for (const db of open.values()) db.close();
  open.clear();
}

export function getMeta(db: Db, key: string): string | undefined {
  return db.prepare<{ value: string }>("SELECT value FROM meta WHERE key = ?").get(key)?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
}
