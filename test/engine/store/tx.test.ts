import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
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
