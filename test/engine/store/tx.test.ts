import { afterEach, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { checkpointInBackground } from "../../../src/engine/store/checkpoint.ts";
import { openDb } from "../../../src/engine/store/db.ts";
import { tempHome } from "../../helpers/home.ts";

let cleanup = () => {};
afterEach(() => cleanup());

test("nested transactions are savepoints: an inner throw undoes only the inner writes", () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const db = openDb(join(t.home, "x.db"));
  db.exec("CREATE TABLE t (name TEXT NOT NULL)");
  const names = () => db.prepare<{ name: string }>("SELECT name FROM t ORDER BY rowid").all().map((r) => r.name);
  expect(db.inTransaction).toBe(false);
  db.transaction(() => {
    expect(db.inTransaction).toBe(true);
    db.prepare("INSERT INTO t VALUES (?)").run("outer-1");
    expect(() =>
      db.transaction(() => {
        db.prepare("INSERT INTO t VALUES (?)").run("inner");
        throw new Error("inner boom");
      }),
    ).toThrow("inner boom");
    db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run("inner-ok"));
    db.prepare("INSERT INTO t VALUES (?)").run("outer-2");
  });
  expect(db.inTransaction).toBe(false);
  expect(names()).toEqual(["outer-1", "inner-ok", "outer-2"]);
  // an outer throw undoes everything, savepoints included
  expect(() =>
    db.transaction(() => {
      db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run("gone"));
      throw new Error("outer boom");
    }),
  ).toThrow("outer boom");
  expect(names()).toEqual(["outer-1", "inner-ok", "outer-2"]);
  let closed = 0;
  db.onClose(() => closed++);
  db.close();
  expect(closed).toBe(1);
});

test("background checkpoints: writes stay durable and the WAL is checkpointed by the worker", async () => {
  const t = tempHome();
  cleanup = t.cleanup;
  const path = join(t.home, "c.db");
  const db = openDb(path);
  db.exec("CREATE TABLE t (v TEXT)");
  const stop = checkpointInBackground(db, { intervalMs: 20 });
  expect(db.prepare<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint).toBe(20_000);
  for (let i = 0; i < 300; i++) db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(2000)));
  // the worker's PASSIVE checkpoints copy the WAL into the database file (the main connection's
  // own autocheckpoint is at 20000 pages, so nothing else moves 600 KB into it)
  let backfilled = false;
  for (let i = 0; i < 150 && !backfilled; i++) {
    await Bun.sleep(20);
    backfilled = statSync(path).size > 500_000;
  }
  expect(db.prepare<{ n: number }>("SELECT count(*) AS n FROM t").get()?.n).toBe(300);
  expect(backfilled).toBe(true);
  stop();
  expect(db.prepare<{ wal_autocheckpoint: number }>("PRAGMA wal_autocheckpoint").get()?.wal_autocheckpoint).toBe(1000);
  db.close();
});
