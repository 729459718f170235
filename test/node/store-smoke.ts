// Bundled for Node by test/engine/store/node-path.test.ts and run with `node`:
// the same adapter must pick better-sqlite3 there, migrate, and read what bun:sqlite wrote.
import { openDb } from "../../src/engine/store/db.ts";
import { migrate } from "../../src/engine/store/migrate.ts";

const [path, expectValue] = process.argv.slice(2) as [string, string];
const db = openDb(path);
migrate(db, { smoke: [{ version: 1, name: "t", sql: "CREATE TABLE IF NOT EXISTS node_t (v TEXT)" }] });
db.transaction(() => db.prepare("INSERT INTO node_t (v) VALUES ($v)").run({ $v: "from-node" }));
const fromBun = db.prepare<{ value: string }>("SELECT value FROM kv WHERE key = ?").get("k")?.value;
console.log(JSON.stringify({ engine: db.engine, fromBun, ok: fromBun === expectValue, rows: db.prepare("SELECT v FROM node_t").all() }));
db.close();
