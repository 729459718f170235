/**
 * The interpreter ring: agent-written JavaScript runs in QuickJS compiled to WebAssembly,
 * with a memory limit, a time limit (an interrupt handler), and ONLY the host functions the
 * policy's interpreter aspect names. QuickJS-in-WASM has no ambient authority: no require,
 * no fetch, no fs, no process, no timers — a host function the policy does not allow is
 * simply absent (calling it is a ReferenceError inside the guest).
 *
 * Values cross the boundary as JSON-like data (no functions, no host objects).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from "quickjs-emscripten";

export type HostFunction = (...args: unknown[]) => unknown;

export interface RunCodeOptions {
  /** Host function names the guest may call (the policy's interpreter.host_functions). */
  allow: string[];
  /** Extra host functions by name, beyond the built-in ones (still gated by `allow`). */
  host_functions?: Record<string, HostFunction>;
  memory_mb: number;
  /** Time budget for guest execution, enforced by an interrupt handler. */
  cpu_time_ms: number;
  /** Limit for the whole run including waits on async host functions (default 4× cpu + 1 s). */
  wall_time_ms?: number;
  filename?: string;
  /** Directory that read_workspace / write_workspace are confined to (absent: they are not offered). */
  workspace?: string;
  /** The forbidden zone an absolute path falls in, if any (the policy's): refused to read_workspace / write_workspace. */
  denied?: (absPath: string) => string | undefined;
}

export interface RunCodeResult {
  ok: boolean;
  result?: unknown;
  error?: string;
  /** "cpu_time" | "memory" | "exception" | "wall_time" when !ok */
  error_kind?: "cpu_time" | "memory" | "exception" | "wall_time";
  stdout: string[];
  /** Host functions the guest could call. */
  exposed: string[];
  /** Names the policy allows that no host function implements (absent in the guest). */
  unknown_allowed: string[];
  duration_ms: number;
}

const FILE_LIMIT = 1024 * 1024;
/** What the guest may print in all (log / console), beyond which the run fails: the host's memory is not the guest's. */
const OUTPUT_LIMIT = 4 * 1024 * 1024;
/** WebAssembly memory beyond the policy's memory_mb: QuickJS's own heap and stack. */
const WASM_HEADROOM_MB = 64;

/** A path inside `root` (after resolving symlinks) and outside every forbidden zone, or an error. */
function workspacePath(root: string, rel: unknown, forWrite: boolean, denied?: (p: string) => string | undefined): string {
  const realRoot = realpathSync(root);
  const p = resolve(realRoot, String(rel));
  const check = (x: string) => {
    if (x !== realRoot && !x.startsWith(realRoot + sep)) throw new Error(`${String(rel)} is outside the workspace`);
    const zone = denied?.(x);
    if (zone) throw new Error(`${String(rel)} is in the forbidden zone ${zone}`);
  };
  check(p);
  if (existsSync(p)) check(realpathSync(p));
  else if (forWrite) check(realpathSync(dirname(p)));
  return p;
}

/** Built-in host functions TapPass offers (each still needs the policy's allow). */
export function builtinHostFunctions(stdout: string[], workspace?: string, denied?: (p: string) => string | undefined): Record<string, HostFunction> {
  const ws: Record<string, HostFunction> = workspace
    ? {
        read_workspace: (rel) => {
          const p = workspacePath(workspace, rel, false, denied);
          if (statSync(p).size > FILE_LIMIT) throw new Error(`${String(rel)} is larger than 1 MiB`);
          return readFileSync(p, "utf8");
        },
        write_workspace: (rel, content) => {
          const text = String(content ?? "");
          if (Buffer.byteLength(text) > FILE_LIMIT) throw new Error("content larger than 1 MiB");
          writeFileSync(workspacePath(workspace, rel, true, denied), text);
          return true;
        },
      }
    : {};
  return {
    ...ws,
    log: (...args) => {
      print(stdout, args.map(show).join(" "));
    },
    now: () => Date.now(),
    sha256: (s) => createHash("sha256").update(String(s)).digest("hex"),
    random_hex: (n) => randomBytes(Math.max(0, Math.min(1024, Number(n) || 16))).toString("hex"),
    base64_encode: (s) => Buffer.from(String(s), "utf8").toString("base64"),
    base64_decode: (s) => Buffer.from(String(s), "base64").toString("utf8"),
  };
}

export const BUILTIN_HOST_FUNCTION_NAMES = Object.keys(builtinHostFunctions([], "/"));

/** Append a line of guest output, failing the call once the run's output passes OUTPUT_LIMIT. */
const printed = new WeakMap<string[], number>();
function print(stdout: string[], line: string): void {
  const n = (printed.get(stdout) ?? 0) + line.length + 1;
  if (n > OUTPUT_LIMIT) throw new Error(`output limit reached (${OUTPUT_LIMIT / 1024 / 1024} MiB)`);
  printed.set(stdout, n);
  stdout.push(line);
}

const show = (v: unknown) => (typeof v === "string" ? v : (JSON.stringify(v) ?? String(v)));

let compiled: Promise<WebAssembly.Module> | null = null;
/**
 * A QuickJS instance (release, sync build) of its own for one run, in a WebAssembly memory that
 * cannot grow past memory_mb (+ headroom): QuickJS's own limit does not count ArrayBuffer
 * storage, which could take the host's memory. The WebAssembly is embedded in the compiled
 * binary (imported as a file, where emscripten's lookup beside its JS finds nothing) and compiled once.
 */
async function quickjs(memoryMb: number): Promise<QuickJSWASMModule> {
  const [{ newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC }, { default: wasmPath }] = await Promise.all([
    import("quickjs-emscripten"),
    import("@jitl/quickjs-wasmfile-release-sync/wasm", { with: { type: "file" } }) as Promise<{ default: string }>,
  ]);
  compiled ??= Bun.file(wasmPath).arrayBuffer().then((b) => WebAssembly.compile(b));
  const wasmModule = await compiled;
  const pages = (mb: number) => Math.ceil((mb * 1024 * 1024) / 65536);
  const initial = (WebAssembly.Module.imports(wasmModule).find((i) => i.kind === "memory") as { type?: { minimum?: number } } | undefined)?.type?.minimum ?? 256;
  const wasmMemory = new WebAssembly.Memory({ initial: Math.max(initial, 256), maximum: Math.max(initial, 256, pages(memoryMb + WASM_HEADROOM_MB)) });
  return newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmModule, wasmMemory }));
}

function toHandle(vm: QuickJSContext, v: unknown, depth = 0): QuickJSHandle {
  if (depth > 64) throw new Error("value too deeply nested");
  if (v === undefined) return vm.undefined;
  if (v === null) return vm.null;
  if (typeof v === "boolean") return v ? vm.true : vm.false;
  if (typeof v === "number") return vm.newNumber(v);
  if (typeof v === "bigint") return vm.newBigInt(v);
  if (typeof v === "string") return vm.newString(v);
  if (v instanceof Uint8Array) return vm.newString(Buffer.from(v).toString("base64"));
  if (Array.isArray(v)) {
    const a = vm.newArray();
    v.forEach((x, i) => {
      const h = toHandle(vm, x, depth + 1);
      vm.setProp(a, i, h);
      h.dispose();
    });
    return a;
  }
  if (typeof v === "object") {
    const o = vm.newObject();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const h = toHandle(vm, x, depth + 1);
      vm.setProp(o, k, h);
      h.dispose();
    }
    return o;
  }
  return vm.undefined; // functions and symbols do not cross
}

function classify(msg: string, timedOut: boolean): RunCodeResult["error_kind"] {
  if (timedOut || /interrupted/i.test(msg)) return "cpu_time";
  if (/out of memory|memory allocation|stack overflow/i.test(msg)) return "memory";
  return "exception";
}

/** Run `source` in a fresh QuickJS runtime; never throws for guest errors. */
export async function runCode(source: string, opts: RunCodeOptions): Promise<RunCodeResult> {
  const t0 = performance.now();
  const stdout: string[] = [];
  const available = { ...builtinHostFunctions(stdout, opts.workspace, opts.denied), ...(opts.host_functions ?? {}) };
  const exposed = [...new Set(opts.allow)].filter((n) => Object.hasOwn(available, n));
  const unknown_allowed = [...new Set(opts.allow)].filter((n) => !Object.hasOwn(available, n));
  const done = (r: Omit<RunCodeResult, "stdout" | "exposed" | "unknown_allowed" | "duration_ms">): RunCodeResult => ({
    ...r,
    stdout,
    exposed,
    unknown_allowed,
    duration_ms: performance.now() - t0,
  });

  const QuickJS = await quickjs(Math.max(1, opts.memory_mb));
  const runtime: QuickJSRuntime = QuickJS.newRuntime();
  const cpuMs = Math.max(1, opts.cpu_time_ms);
  let guestDeadline = Date.now() + cpuMs;
  let timedOut = false;
  runtime.setInterruptHandler(() => {
    if (Date.now() > guestDeadline) {
      timedOut = true;
      return true;
    }
    return false;
  });
  runtime.setMemoryLimit(Math.max(1, opts.memory_mb) * 1024 * 1024);
  runtime.setMaxStackSize(512 * 1024);
  const vm = runtime.newContext();
  try {
    // console.* → stdout (console is always there; it only writes to the captured log).
    const consoleObj = vm.newObject();
    for (const level of ["log", "info", "warn", "error", "debug"]) {
      const fn = vm.newFunction(level, (...args) => {
        try {
          print(stdout, args.map((a) => show(vm.dump(a))).join(" "));
        } catch (e) {
          return { error: vm.newError({ name: "HostError", message: (e as Error).message }) };
        }
      });
      vm.setProp(consoleObj, level, fn);
      fn.dispose();
    }
    vm.setProp(vm.global, "console", consoleObj);
    consoleObj.dispose();

    for (const name of exposed) {
      const impl = available[name] as HostFunction;
      const fn = vm.newFunction(name, (...args) => {
        const values = args.map((a) => vm.dump(a));
        let out: unknown;
        try {
          out = impl(...values);
        } catch (e) {
          return { error: vm.newError({ name: "HostError", message: `${name}: ${(e as Error).message}` }) };
        }
        if (out instanceof Promise) {
          const d = vm.newPromise();
          out.then(
            (v) => {
              const h = toHandle(vm, v);
              d.resolve(h);
              h.dispose();
            },
            (e) => {
              const h = vm.newError({ name: "HostError", message: `${name}: ${(e as Error)?.message ?? e}` });
              d.reject(h);
              h.dispose();
            },
          );
          d.settled.then(() => runtime.executePendingJobs());
          return d.handle;
        }
        return toHandle(vm, out);
      });
      vm.setProp(vm.global, name, fn);
      fn.dispose();
    }

    const evaluated = vm.evalCode(source, opts.filename ?? "agent.js");
    if (evaluated.error) {
      const err = vm.dump(evaluated.error);
      evaluated.error.dispose();
      const msg = errorMessage(err);
      return done({ ok: false, error: msg, error_kind: classify(msg, timedOut) });
    }
    let handle = evaluated.value;
    if (vm.typeof(handle) === "object" && isPromise(vm, handle)) {
      const wall = opts.wall_time_ms ?? cpuMs * 4 + 1000;
      const settled = vm.resolvePromise(handle);
      handle.dispose();
      runtime.executePendingJobs();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), wall);
      });
      const r = await Promise.race([settled, timeout]);
      clearTimeout(timer);
      if (r === "timeout") return done({ ok: false, error: `wall time limit of ${wall} ms exceeded`, error_kind: "wall_time" });
      if (r.error) {
        const err = vm.dump(r.error);
        r.error.dispose();
        const msg = errorMessage(err);
        return done({ ok: false, error: msg, error_kind: classify(msg, timedOut) });
      }
      handle = r.value;
      guestDeadline = Date.now() + cpuMs;
    }
    const result = vm.dump(handle);
    handle.dispose();
    return done({ ok: true, result });
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    return done({ ok: false, error: msg, error_kind: classify(msg, timedOut) });
  } finally {
    try {
      vm.dispose();
      runtime.dispose();
    } catch {
      // a runtime that ran out of memory can fail to free cleanly; it is dropped either way
    }
  }
}

function isPromise(vm: QuickJSContext, h: QuickJSHandle): boolean {
  try {
    const state = vm.getPromiseState(h);
    return state.type !== "fulfilled" || !state.notAPromise;
  } catch {
    return false;
  }
}

function errorMessage(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { name?: string; message?: string };
    if (e.message !== undefined) return e.name ? `${e.name}: ${e.message}` : String(e.message);
  }
  return String(err);
}

/** The policy's interpreter aspect as run options. */
export function optionsFromAspect(aspect: { host_functions: string[]; memory_mb: number; cpu_time_ms: number }, extra?: Record<string, HostFunction>): RunCodeOptions {
  return { allow: aspect.host_functions, host_functions: extra, memory_mb: aspect.memory_mb, cpu_time_ms: aspect.cpu_time_ms };
}
