/** The interpreter ring: QuickJS-in-WASM with a host-function allow-list, memory and time limits. */
import { describe, expect, test } from "bun:test";
import { runCode } from "../../src/sandbox/interpreter.ts";

const base = { allow: ["log", "sha256"], memory_mb: 16, cpu_time_ms: 1000 };

describe("interpreter ring", () => {
  test("runs code, captures console and log, returns the completion value", async () => {
    const r = await runCode("console.log('hi', {a: 1}); log('via host'); [1, 2, 3].map((x) => x * 2)", base);
    expect(r.ok).toBe(true);
    expect(r.result).toEqual([2, 4, 6]);
    expect(r.stdout).toEqual(['hi {"a":1}', "via host"]);
  });

  test("allowed host functions work; others are absent (ReferenceError)", async () => {
    const ok = await runCode("sha256('abc')", base);
    expect(ok.result).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const denied = await runCode("now()", base);
    expect(denied.ok).toBe(false);
    expect(denied.error).toContain("ReferenceError");
    const probe = await runCode("typeof now + ',' + typeof sha256", base);
    expect(probe.result).toBe("undefined,function");
  });

  test("caller-added host functions are gated by the same allow-list, sync and async", async () => {
    const host = { lookup_user: (id: unknown) => ({ id, name: "ada" }), slow_double: async (x: unknown) => Number(x) * 2, secret: () => "s3cr3t" };
    const r = await runCode("(async () => [lookup_user(7).name, await slow_double(21)])()", { ...base, allow: ["lookup_user", "slow_double"], host_functions: host });
    expect(r).toMatchObject({ ok: true, result: ["ada", 42] });
    const s = await runCode("secret()", { ...base, allow: ["lookup_user"], host_functions: host });
    expect(s.ok).toBe(false);
    expect(s.error).toContain("ReferenceError");
    const u = await runCode("1", { ...base, allow: ["no_such_fn"] });
    expect(u.unknown_allowed).toEqual(["no_such_fn"]);
  });

  test("a host function that throws surfaces as a guest exception", async () => {
    const r = await runCode("try { boom() } catch (e) { 'caught ' + e.message }", { ...base, allow: ["boom"], host_functions: { boom: () => { throw new Error("nope"); } } });
    expect(r).toMatchObject({ ok: true, result: "caught boom: nope" });
  });

  test("no ambient authority: no require, fetch, process, std/os, timers", async () => {
    const r = await runCode("[typeof require, typeof fetch, typeof process, typeof std, typeof os, typeof setTimeout, typeof XMLHttpRequest, typeof Bun, typeof WebAssembly].join()", base);
    expect(r.result).toBe(Array(9).fill("undefined").join());
    const imp = await runCode("import('fs').then(() => 'loaded', (e) => 'refused: ' + e)", base);
    expect(String(imp.result ?? imp.error)).not.toBe("loaded");
  });

  test("CPU time limit interrupts an infinite loop", async () => {
    const t = performance.now();
    const r = await runCode("while (true) {}", { ...base, cpu_time_ms: 150 });
    expect(r.ok).toBe(false);
    expect(r.error_kind).toBe("cpu_time");
    expect(performance.now() - t).toBeLessThan(3000);
  });

  test("memory limit stops a large allocation", async () => {
    const r = await runCode("new ArrayBuffer(64 * 1024 * 1024).byteLength", { ...base, memory_mb: 8 });
    expect(r.ok).toBe(false);
    expect(r.error_kind).toBe("memory");
    const fits = await runCode("new ArrayBuffer(1024 * 1024).byteLength", { ...base, memory_mb: 8 });
    expect(fits).toMatchObject({ ok: true, result: 1048576 });
  });

  test("runs are isolated: globals do not leak between runs", async () => {
    await runCode("globalThis.leak = 42", base);
    const r = await runCode("typeof leak", base);
    expect(r.result).toBe("undefined");
  });
});

describe("interpreter ring: workspace host functions", () => {
  test("read_workspace / write_workspace stay inside the workspace", async () => {
    const { mkdtempSync, writeFileSync, symlinkSync, readFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const ws = mkdtempSync(join(tmpdir(), "tappass-qjs-ws-"));
    writeFileSync(join(ws, "in.txt"), "data");
    symlinkSync("/etc/hostname", join(ws, "link"));
    const opts = { ...base, allow: ["read_workspace", "write_workspace"], workspace: ws };
    const r = await runCode("write_workspace('out.txt', read_workspace('in.txt').toUpperCase()); read_workspace('out.txt')", opts);
    expect(r).toMatchObject({ ok: true, result: "DATA" });
    expect(readFileSync(join(ws, "out.txt"), "utf8")).toBe("DATA");
    for (const src of ["read_workspace('../../etc/hostname')", "read_workspace('/etc/hostname')", "read_workspace('link')", "write_workspace('../x.txt', 'x')"]) {
      const bad = await runCode(src, opts);
      expect(bad.ok).toBe(false);
      expect(bad.error).toContain("outside the workspace");
    }
    const none = await runCode("typeof read_workspace", { ...opts, workspace: undefined });
    expect(none.result).toBe("undefined");
    rmSync(ws, { recursive: true, force: true });
  });
});

describe("interpreter ring: limits the host holds to", () => {
  test("ArrayBuffers count against memory_mb: the guest gets an out-of-memory error, not the host's memory", async () => {
    const r = await runCode("let a = []; let i = 0; try { while (i < 64) { a.push(new ArrayBuffer(16 * 1024 * 1024)); i++ } } catch (e) {}; i", { ...base, memory_mb: 32 });
    expect(r.ok).toBe(true);
    expect(r.result as number).toBeLessThan(8); // 32 MB (+ QuickJS's headroom), not 64 × 16 MB
  });
  test("what the guest prints is capped", async () => {
    const r = await runCode("for (let i = 0; i < 100; i++) log('x'.repeat(1024 * 1024))", base);
    expect(r.ok).toBe(false);
    expect(r.error).toContain("output limit reached");
    expect(r.stdout.join("").length).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
  test("workspace functions refuse the policy's forbidden zones", async () => {
    const { mkdtempSync, writeFileSync, rmSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { zonePredicate } = await import("../../src/engine/pipeline/steps/forbidden_zones.ts");
    const ws = mkdtempSync(join(tmpdir(), "tappass-qjs-zones-"));
    writeFileSync(join(ws, ".env"), "SECRET=1\n");
    writeFileSync(join(ws, "notes.txt"), "ok");
    const opts = { ...base, allow: ["read_workspace", "write_workspace"], workspace: ws, denied: zonePredicate(["**/.env"], { home: "/nonexistent-home", cwd: ws }) };
    expect(await runCode("read_workspace('notes.txt')", opts)).toMatchObject({ ok: true, result: "ok" });
    for (const src of ["read_workspace('.env')", "write_workspace('.env', 'x')"]) {
      const bad = await runCode(src, opts);
      expect(bad.ok).toBe(false);
      expect(bad.error).toContain("forbidden zone **/.env");
    }
    expect(readFileSync(join(ws, ".env"), "utf8")).toBe("SECRET=1\n");
    rmSync(ws, { recursive: true, force: true });
  });
});
