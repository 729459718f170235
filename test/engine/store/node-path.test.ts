import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { openDb } from "../../../src/engine/store/db.ts";
import { root } from "../../helpers/cli.ts";
import { tempHome } from "../../helpers/home.ts";

/**
 * Node binaries on this machine: every `node` on PATH plus the node@22 dev package. npm scripts put
 * node_modules/.bin first, so `node` may not be the Node that built better-sqlite3's native module;
 * the Node path must work with the one that did.
 */
function nodeCandidates(): string[] {
  const onPath = (process.env.PATH ?? "").split(delimiter).map((d) => join(d, "node"));
  return [...new Set([...onPath, join(root, "node_modules", "node", "bin", "node")])].filter((p) => existsSync(p));
}

function nodeThatLoadsBetterSqlite(): string | undefined {
  return nodeCandidates().find((n) => Bun.spawnSync([n, "-e", "new (require('better-sqlite3'))(':memory:').close()"], { cwd: root }).exitCode === 0);
}

test("under Node the adapter uses better-sqlite3 and shares the WAL database with bun:sqlite", async () => {
  const t = tempHome();
  try {
    const dbPath = join(t.home, "shared.db");
    const db = openDb(dbPath);
    db.exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT)");
    db.prepare("INSERT INTO kv VALUES (?, ?)").run("k", "written-by-bun");
    const out = join(t.home, "smoke.mjs");
    const b = Bun.spawnSync([process.execPath, "build", join(root, "test/node/store-smoke.ts"), "--target=node", "--external=better-sqlite3", `--outfile=${out}`], { cwd: root });
    expect(b.exitCode).toBe(0);
    const node = nodeThatLoadsBetterSqlite();
    expect(node).toBeDefined();
    const r = Bun.spawnSync([node as string, out, dbPath, "written-by-bun"], { cwd: root, env: { ...process.env, NODE_PATH: join(root, "node_modules") } });
    const line = Buffer.from(r.stdout).toString().trim();
    expect(Buffer.from(r.stderr).toString()).toBe("");
    const res = JSON.parse(line);
    expect(res).toEqual({ engine: "better-sqlite3", fromBun: "written-by-bun", ok: true, rows: [{ v: "from-node" }] });
    // and bun sees what node wrote
    expect(db.prepare<{ v: string }>("SELECT v FROM node_t").all()).toEqual([{ v: "from-node" }]);
    db.close();
  } finally {
    t.cleanup();
  }
});
