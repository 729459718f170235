/**
 * The one storage adapter: bun:sqlite under Bun (the compiled binary, `bun test`),
 * better-sqlite3 under Node. Both expose the same tiny surface, so the rest of TapPass
 * never knows which one it has. Parameters are positional (`?`) or named with `$name`
 * keys (pass `{ $name: value }`): both engines accept that form.
 */
import { createRequire } from "node:module";

export type SqlParam = string | number | bigint | boolean | null | Uint8Array;
export type SqlParams = SqlParam[] | [Record<string, SqlParam>];

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement<Row = Record<string, unknown>> {
  run(...params: SqlParams): RunResult;
  get(...params: SqlParams): Row | undefined;
  all(...params: SqlParams): Row[];
}

export interface Db {
  readonly path: string;
  readonly engine: "bun:sqlite" | "better-sqlite3";
  prepare<Row = Record<string, unknown>>(sql: string): Statement<Row>;
  exec(sql: string): void;
  /**
   * Runs fn in a transaction (BEGIN IMMEDIATE); rolls back if it throws. Inside another
   * transaction it runs under a SAVEPOINT: a throw undoes only fn's writes.
   */
  transaction<T>(fn: () => T): T;
  /** True while a transaction is open on this connection. */
  readonly inTransaction: boolean;
  /** Run fn just before close() (e.g. flush write-behind state); errors are swallowed. */
  onClose(fn: () => void): void;
  close(): void;
}

/**
 * BEGIN IMMEDIATE … COMMIT with cached statements. The engines' own transaction() helpers build
 * a wrapper function per call, which is measurable on the governed-call hot path.
 */
function txRunner(run: (sql: string) => void, inTx: () => boolean) {
  let depth = 0;
  return <T>(fn: () => T): T => {
    if (inTx()) {
      const sp = `tp_sp${++depth}`;
      run(`SAVEPOINT ${sp}`);
      try {
        const r = fn();
        run(`RELEASE ${sp}`);
        return r;
      } catch (e) {
        run(`ROLLBACK TO ${sp}`);
        run(`RELEASE ${sp}`);
        throw e;
      } finally {
        depth--;
      }
    }
    run("BEGIN IMMEDIATE");
    try {
      const r = fn();
      run("COMMIT");
      return r;
    } catch (e) {
      if (inTx()) run("ROLLBACK");
      throw e;
    }
  };
}

function closer(close: () => void) {
  const hooks: Array<() => void> = [];
  return {
    onClose: (fn: () => void) => {
      hooks.push(fn);
    },
    close: () => {
      for (const fn of hooks.splice(0)) {
        try {
          fn();
        } catch {
          /* closing must not fail because a hook did */
        }
      }
      close();
    },
  };
}

export interface OpenOptions {
  readonly?: boolean;
  /** busy timeout in ms (default 5000) */
  busyTimeoutMs?: number;
}

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

export function openDb(path: string, opts: OpenOptions = {}): Db {
  const db = isBun ? openBun(path, opts) : openNode(path, opts);
  if (!opts.readonly) {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
  }
  db.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  db.exec("PRAGMA foreign_keys = ON");
  return db;
}

function openBun(path: string, opts: OpenOptions): Db {
  const req = createRequire(import.meta.url);
  const { Database } = req("bun:sqlite") as typeof import("bun:sqlite");
  const raw = opts.readonly ? new Database(path, { readonly: true }) : new Database(path, { create: true });
  const cache = new Map<string, ReturnType<typeof raw.prepare>>();
  const prep = (sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      s = raw.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  const c = closer(() => {
    for (const s of cache.values()) s.finalize();
    cache.clear();
    raw.close();
  });
  return {
    path,
    engine: "bun:sqlite",
    prepare<Row>(sql: string): Statement<Row> {
      const s = prep(sql);
      return {
        run: (...p) => {
          const r = s.run(...(p as never[]));
          return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
        },
        get: (...p) => (s.get(...(p as never[])) ?? undefined) as Row | undefined,
        all: (...p) => s.all(...(p as never[])) as Row[],
      };
    },
    exec: (sql) => raw.exec(sql),
    transaction: txRunner((sql) => prep(sql).run(), () => raw.inTransaction),
    get inTransaction() {
      return raw.inTransaction;
    },
    onClose: c.onClose,
    close: c.close,
  };
}

function openNode(path: string, opts: OpenOptions): Db {
  const req = createRequire(import.meta.url);
  const Database = req("better-sqlite3") as typeof import("better-sqlite3");
  const raw = new Database(path, { readonly: !!opts.readonly });
  const cache = new Map<string, import("better-sqlite3").Statement>();
  const prep = (sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      s = raw.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
  // better-sqlite3 wants named params without the `$` prefix in the object keys.
  const norm = (p: unknown[]) => {
    if (p.length === 1 && p[0] && typeof p[0] === "object" && !(p[0] instanceof Uint8Array)) {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(p[0] as Record<string, unknown>)) o[k.replace(/^[$:@]/, "")] = typeof v === "boolean" ? (v ? 1 : 0) : v;
      return [o];
    }
    return p.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
  };
  const c = closer(() => {
    cache.clear();
    raw.close();
  });
  return {
    path,
    engine: "better-sqlite3",
    prepare<Row>(sql: string): Statement<Row> {
      const s = prep(sql);
      const returnsRows = s.reader;
      return {
        run: (...p) => {
          const r = s.run(...norm(p));
          return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
        },
        get: (...p) => (returnsRows ? (s.get(...norm(p)) as Row | undefined) : undefined),
        all: (...p) => (returnsRows ? (s.all(...norm(p)) as Row[]) : []),
      };
    },
    exec: (sql) => {
      raw.exec(sql);
    },
    transaction: txRunner((sql) => prep(sql).run(), () => raw.inTransaction),
    get inTransaction() {
      return raw.inTransaction;
    },
    onClose: c.onClose,
    close: c.close,
  };
}
