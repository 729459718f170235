import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { openDb } from "../../../src/engine/store/db.ts";
import { migrate } from "../../../src/engine/store/migrate.ts";
import { closeAllState, getMeta, openState, setMeta } from "../../../src/engine/store/state.ts";
import { tempHome } from "../../helpers/home.ts";

let cleanup = () => {};
afterEach(() => cleanup());

test("bun:sqlite adapter: WAL, params, transactions roll back", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const db = openDb(join(t.home, "x.db"));
  expect(db.engine).toBe("bun:sqlite");
  expect(db.prepare<{ journal_mode: string }>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  db.prepare("INSERT INTO t (name) VALUES (?)").run("a");
  db.prepare("INSERT INTO t (name) VALUES ($name)").run({ $name: "b" });
  expect(() =>
    db.transaction(() => {
      db.prepare("INSERT INTO t (name) VALUES (?)").run("c");
      throw new Error("boom");
    }),
  ).toThrow("boom");
  expect(db.prepare<{ name: string }>("SELECT name FROM t ORDER BY id").all().map((r) => r.name)).toEqual(["a", "b"]);
  db.close();
});

test("migrations apply once, per subsystem, in version order", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const db = openDb(join(t.home, "m.db"));
  const subs = {
    one: [
      { version: 2, name: "add col", sql: "ALTER TABLE a ADD COLUMN y TEXT" },
      { version: 1, name: "create a", sql: "CREATE TABLE a (x TEXT)" },
    ],
  };
  expect(migrate(db, subs)).toEqual(["one:1 create a", "one:2 add col"]);
  expect(migrate(db, subs)).toEqual([]);
  db.prepare("INSERT INTO a (x, y) VALUES (?, ?)").run("1", "2");
  db.close();
});

test("a failing migration leaves nothing half-applied", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const db = openDb(join(t.home, "f.db"));
  expect(() => migrate(db, { s: [{ version: 1, name: "bad", sql: "CREATE TABLE ok (x); CREATE TABLE oops (" }] })).toThrow();
  expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ok'").get()).toBeUndefined();
  expect(db.prepare("SELECT * FROM schema_migrations").all()).toEqual([]);
  db.close();
});

test("openState refuses an uninitialised home with a hint, then works with create", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  let err: { code?: string; hint?: string; exitCode?: number } = {};
  try {
    openState(t.home);
  } catch (e) {
    err = e as typeof err;
  }
  expect(err).toMatchObject({ code: "not_initialised", exitCode: 3 });
  expect(err.hint).toContain("tappass init");
  const db = openState(t.home, { create: true });
  setMeta(db, "org", "acme");
  closeAllState();
  expect(getMeta(openState(t.home), "org")).toBe("acme");
});
