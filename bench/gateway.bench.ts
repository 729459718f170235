/**
 * LLM gateway overhead, side by side in one run, all on 127.0.0.1, each server in its own
 * process so none shares the load generator's event loop:
 *   direct   — the client calls the fake model (test/helpers/fake-model.ts) itself
 *   tappass  — through `startGateway` with the standard pipeline (token check, budgets with
 *              atomic reservations, secrets/PII/injection/jailbreak/exfil detectors, tool steps,
 *              response steps, one signed audit row per call)
 *   portkey  — through @portkey-ai/gateway (its own Node server, forced onto 127.0.0.1),
 *              pointed at the same fake model with x-portkey-custom-host
 * Reported: added latency p50/p99 at concurrency 1 (back to back, and each call after a 1 ms
 * pause as an agent's calls come), throughput at concurrency 64, and streaming
 * time-to-first-token (unpaced, and with the model pacing chunks 5 ms apart so the stream
 * guard's hold-back shows; a paced stream also starts each call after an idle pause, as an
 * agent's calls do). Every target is warmed up, then measured side by side: the targets take
 * turns in blocks of calls (c=64: in rounds), so a shared machine slowing down mid-run slows
 * all of them alike. Loops are bounded.
 *
 * The same prompt on every call is what an agent does with its system prompt and earlier turns,
 * and the pipeline memoises detector results by text; `c1_unique` (a different user message on
 * every call) shows the added latency when every text is new to the detectors.
 *
 * Run alone: `bun bench/run.ts gateway`. The file is also its own child process
 * (`--child=fake|tappass`).
 */
import { type Subprocess, spawn } from "bun";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const N_SEQ = 300;
const N_CONC = 3000;
const CONC = 64;
const N_TTFT = 100;
const N_TTFT_PACED = 50;

/** pid: the serving process, whose CPU time per call is reported (a figure that load on a shared machine disturbs far less than latency). */
type Target = { name: string; url: string; headers: Record<string, string>; pid?: number };

/** CPU time (user + system, all threads) a process has used, in ms; undefined off Linux. */
function cpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- children

async function childFake(): Promise<void> {
  const { startFakeModel } = await import("../test/helpers/fake-model.ts");
  const fm = await startFakeModel();
  // a fixed, realistic answer (no PII, no secrets): ~300 characters in 8-character chunks
  fm.setDefault((req) => ({
    text: "Thanks for the question. Here is a short answer that a model might give, long enough to be streamed in several dozen chunks, with nothing in it that any guardrail should object to. It ends here, after about three hundred characters of plain text.",
    event_delay_ms: req.headers["x-bench-pace"] ? Number(req.headers["x-bench-pace"]) : 0,
  }));
  process.stdout.write(`${JSON.stringify({ url: fm.url })}\n`);
  setInterval(() => fm.reset(), 5000); // recorded requests would grow without bound
}

async function childTappass(upstream: string): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "tappass-bench-gw-"));
  process.env.TAPPASS_HOME = home;
  const [{ initInstall }, { loadKeys }, { issueToken }, { openState }, { startGateway }, { signedEnvelope, testPayload }] = await Promise.all([
    import("../src/engine/install.ts"),
    import("../src/engine/crypto/keys.ts"),
    import("../src/engine/crypto/tokens.ts"),
    import("../src/engine/store/state.ts"),
    import("../src/engine/gateway/index.ts"),
    import("../test/helpers/policy.ts"),
  ]);
  await initInstall({ home, org: "bench" });
  const keys = loadKeys(home);
  const db = openState(home);
  // the standard preset, with budgets high enough that thousands of calls stay within them
  // (the budget steps still reserve and reconcile on every call)
  const payload = testPayload({ budget: { tokens_per_day: 1e12, dollars_per_month: 1e9, requests_per_minute: 1e9, tool_calls_per_minute: 1e9 } });
  const gw = await startGateway({ envelope: signedEnvelope(payload, keys), db, keys, home, upstreams: { openai: upstream, anthropic: upstream }, providerKeys: { openai: "sk-bench", anthropic: "sk-ant-bench" } });
  const token = await issueToken(keys, { agent: payload.agent, ttlSeconds: 280 });
  process.stdout.write(`${JSON.stringify({ url: gw.url, token })}\n`);
  process.on("SIGTERM", async () => {
    await gw.close();
    rmSync(home, { recursive: true, force: true });
    process.exit(0);
  });
}

// ---------------------------------------------------------------- parent

async function firstLine(p: Subprocess<"ignore", "pipe", "inherit">): Promise<Record<string, string>> {
  const reader = p.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 30_000;
  while (!out.includes("\n")) {
    if (Date.now() > deadline) throw new Error("child did not start in 30 s");
    const { value, done } = await reader.read();
    if (done) throw new Error(`child exited before printing its URL: ${out}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return JSON.parse(out.split("\n")[0] as string);
}

/**
 * Portkey's own server (build/start-server.js, `npm run start:node`), under Node 22 or Bun. It
 * binds every interface; a preload pins it to 127.0.0.1 (checked before any request is sent).
 */
async function startPortkey(upstream: string, runtime: "node" | "bun"): Promise<{ proc: Subprocess; url: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tappass-bench-portkey-"));
  const preload = join(dir, "loopback.mjs");
  writeFileSync(
    preload,
    `import http from "node:http";
import net from "node:net";
for (const proto of [net.Server.prototype, http.Server.prototype]) {
  const listen = proto.listen;
  proto.listen = function (...a) {
    if (typeof a[0] === "number") { if (typeof a[1] !== "string") a[1] = "127.0.0.1"; }
    else if (a[0] && typeof a[0] === "object" && !a[0].path) a[0] = { ...a[0], host: "127.0.0.1" };
    return listen.apply(this, a);
  };
}\n`,
  );
  const port = 20000 + Math.floor(Math.random() * 20000);
  const entry = join(ROOT, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
  const argv = runtime === "node" ? [join(ROOT, "node_modules", ".bin", "node"), "--import", preload, entry] : [process.execPath, "--preload", preload, entry];
  const proc = spawn([...argv, `--port=${port}`, "--headless"], {
    stdout: "ignore",
    stderr: "ignore",
    env: { ...process.env, NODE_ENV: "production" },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: portkeyHeaders(upstream), body: body(false) });
      await r.text();
      if (r.status === 200) break;
      throw new Error(`portkey answered ${r.status}`);
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`portkey did not come up: ${(e as Error).message}`);
      await Bun.sleep(200);
    }
  }
  return { proc, url, dir };
}

const portkeyHeaders = (upstream: string) => ({ "content-type": "application/json", authorization: "Bearer sk-bench", "x-portkey-provider": "openai", "x-portkey-custom-host": `${upstream}/v1` });

let uniq = 0;
const body = (stream: boolean, unique = false) =>
  JSON.stringify({
    model: "gpt-4o-mini",
    stream,
    messages: [
      { role: "system", content: "You are a helpful support assistant for Acme. Answer briefly and politely." },
      {
        role: "user",
        content: `Hello! Could you tell me how long a refund usually takes once I have returned the item? I sent it back on Monday by post, and the tracking says it arrived yesterday.${unique ? ` My order number is ${100000 + uniq++}.` : ""} Thanks a lot.`,
      },
    ],
  });

async function call(t: Target, stream = false, unique = false): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${t.url}/v1/chat/completions`, { method: "POST", headers: t.headers, body: body(stream, unique) });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${t.name}: HTTP ${r.status}`);
  return performance.now() - t0;
}

/** Time to the first chunk carrying answer text. */
async function ttft(t: Target, pace: number): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${t.url}/v1/chat/completions`, { method: "POST", headers: { ...t.headers, ...(pace ? { "x-bench-pace": String(pace) } : {}) }, body: body(true) });
  if (r.status !== 200 || !r.body) throw new Error(`${t.name}: HTTP ${r.status}`);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let first = -1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    if (first < 0 && /"content":"[^"]/.test(buf)) first = performance.now() - t0;
  }
  if (first < 0) throw new Error(`${t.name}: no content in the stream`);
  return first;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const r3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Calls before each latency series is measured, the same for every target: a gateway serves
 * thousands of calls, so its steady state (the JIT's optimised code) is what an agent sees; the
 * first few hundred calls run in the interpreter and baseline tiers. TAPPASS_BENCH_WARMUP sets it.
 */
const WARMUP = Number(process.env.TAPPASS_BENCH_WARMUP ?? 500);

/** Calls (or streams) per block: the targets take turns in blocks, so a machine that slows down mid-run slows all alike. */
const BLOCK = 25;
/** Rounds of the c=64 run: each target serves N_CONC / ROUNDS calls per round, in turn. */
const ROUNDS = 3;
/** The pause before each call of the c1_paused series (ms). */
const PAUSE_MS = 1;

type Samples = Map<string, number[]>;
const stats = (xs: number[]) => ({ p50_ms: r3(pct(xs, 50)), p99_ms: r3(pct(xs, 99)) });

/**
 * n measurements of every target, side by side: blocks of BLOCK, the targets in turn; the CPU
 * each serving process used in its own blocks beside them (per measurement, µs). A target that
 * fails is dropped from the run with its error.
 */
async function sideBySide(targets: Target[], n: number, measure: (t: Target) => Promise<number>, errors: Record<string, string>): Promise<Map<string, { xs: number[]; cpu_us?: number }>> {
  const xs: Samples = new Map(targets.map((t) => [t.name, []]));
  const cpu = new Map<string, number | undefined>(targets.map((t) => [t.name, 0]));
  let live = targets.filter((t) => !errors[t.name]);
  for (let done = 0; done < n; done += BLOCK) {
    for (const t of live) {
      const c0 = cpuMs(t.pid);
      try {
        for (let i = 0; i < Math.min(BLOCK, n - done); i++) xs.get(t.name)?.push(await measure(t));
      } catch (e) {
        errors[t.name] = (e as Error).message;
      }
      const c1 = cpuMs(t.pid);
      cpu.set(t.name, c0 === undefined || c1 === undefined ? undefined : (cpu.get(t.name) ?? 0) + (c1 - c0));
    }
    live = live.filter((t) => !errors[t.name]);
  }
  const out = new Map<string, { xs: number[]; cpu_us?: number }>();
  for (const t of live) {
    const c = cpu.get(t.name);
    out.set(t.name, { xs: xs.get(t.name) ?? [], ...(c === undefined ? {} : { cpu_us: Math.round((c * 1000) / n) }) });
  }
  return out;
}

/** c=64 throughput of every target, in ROUNDS rounds taken in turn; requests per second and CPU per call over all rounds. */
async function throughputSideBySide(targets: Target[], total: number, conc: number) {
  const acc = new Map<string, { ms: number; cpu?: number; errors: number; calls: number }>(targets.map((t) => [t.name, { ms: 0, cpu: 0, errors: 0, calls: 0 }]));
  const per = Math.ceil(total / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      const a = acc.get(t.name) as { ms: number; cpu?: number; errors: number; calls: number };
      const c0 = cpuMs(t.pid);
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: conc }, async () => {
          while (next++ < per) await call(t).catch(() => a.errors++);
        }),
      );
      a.ms += performance.now() - t0;
      a.calls += per;
      const c1 = cpuMs(t.pid);
      a.cpu = c0 === undefined || c1 === undefined || a.cpu === undefined ? undefined : a.cpu + (c1 - c0);
    }
  }
  return new Map(
    [...acc].map(([name, a]) => [name, { rps: Math.round(a.calls / (a.ms / 1000)), errors: a.errors, ...(a.cpu === undefined ? {} : { server_cpu_us_per_call: Math.round((a.cpu * 1000) / a.calls) }) }] as const),
  );
}

export default async function gatewayBench(): Promise<Record<string, unknown>> {
  const self = join(import.meta.dir, "gateway.bench.ts");
  const fake = spawn([process.execPath, self, "--child=fake"], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  const procs: Subprocess[] = [fake];
  const portkeyDirs: string[] = [];
  try {
    const { url: upstream } = await firstLine(fake);
    const tp = spawn([process.execPath, self, "--child=tappass", `--upstream=${upstream}`], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
    procs.push(tp);
    const gw = await firstLine(tp);
    const targets: Target[] = [
      { name: "direct", url: upstream as string, headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, pid: fake.pid },
      { name: "tappass", url: gw.url as string, headers: { "content-type": "application/json", authorization: `Bearer ${gw.token}` }, pid: tp.pid },
    ];
    const errors: Record<string, string> = {};
    // Portkey 1.15.2 under Node 22 answers streamed calls with HTTP 500 ("immutable" headers);
    // under Bun its streaming works. Measure it on both where it works.
    for (const runtime of ["bun", "node"] as const) {
      try {
        const pk = await startPortkey(upstream as string, runtime);
        procs.push(pk.proc);
        portkeyDirs.push(pk.dir);
        targets.push({ name: runtime === "bun" ? "portkey" : "portkey_node", url: pk.url, headers: portkeyHeaders(upstream as string), pid: pk.proc.pid });
      } catch (e) {
        errors[runtime === "bun" ? "portkey" : "portkey_node"] = (e as Error).message;
      }
    }

    // every target warmed up first (its steady state: see WARMUP), then measured side by side
    for (const t of targets) {
      try {
        for (let i = 0; i < WARMUP; i++) await call(t);
        if (t.name === "direct" || t.name === "tappass") for (let i = 0; i < WARMUP / 5; i++) await call(t, false, true);
      } catch (e) {
        errors[t.name] = (e as Error).message;
      }
      // the streaming path has its own code to warm (a target that cannot stream is still measured
      // on the rest: its TTFT series records the error)
      try {
        for (let i = 0; i < WARMUP / 5 && !errors[t.name]; i++) await ttft(t, 0);
      } catch {}
    }
    const live = targets.filter((t) => !errors[t.name]);
    const c1 = await sideBySide(live, N_SEQ, (t) => call(t), errors);
    const c1u = await sideBySide(live.filter((t) => t.name === "direct" || t.name === "tappass"), N_SEQ, (t) => call(t, false, true), errors);
    // an agent's calls come with the model's and the tools' time between them: each call after a
    // 1 ms pause (untimed), where the back-to-back series has the next call meet the last one's
    // deferred work (for TapPass, its audit row's commit, which follows the answer)
    const c1p = await sideBySide(live, N_SEQ, async (t) => {
      await Bun.sleep(PAUSE_MS);
      return call(t);
    }, errors);
    const c64 = await throughputSideBySide(live.filter((t) => !errors[t.name]), N_CONC, CONC);
    const ttftErr: Record<string, string> = {};
    const pacedErr: Record<string, string> = {};
    const tt = await sideBySide(live, N_TTFT, (t) => ttft(t, 0), ttftErr);
    const paced = await sideBySide(live, N_TTFT_PACED, (t) => ttft(t, 5), pacedErr);
    const out: Record<string, Record<string, unknown>> = {};
    for (const t of live) {
      const l = c1.get(t.name);
      if (!l) continue;
      const u = c1u.get(t.name);
      const pz = c1p.get(t.name);
      const a = tt.get(t.name);
      const b = paced.get(t.name);
      out[t.name] = {
        c1: { ...stats(l.xs), ...(l.cpu_us === undefined ? {} : { server_cpu_us_per_call: l.cpu_us }) },
        c64: c64.get(t.name),
        ...(u ? { c1_unique: { ...stats(u.xs), ...(u.cpu_us === undefined ? {} : { server_cpu_us_per_call: u.cpu_us }) } } : {}),
        ...(pz ? { c1_paused: stats(pz.xs) } : {}),
        ttft: a ? stats(a.xs) : { error: ttftErr[t.name] },
        ttft_paced_5ms: b ? stats(b.xs) : { error: pacedErr[t.name] },
      };
      process.stderr.write(`bench: gateway ${t.name} ${JSON.stringify(out[t.name])}\n`);
    }
    type Cpu = { server_cpu_us_per_call?: number };
    const d = out.direct as { c1: { p50_ms: number; p99_ms: number } & Cpu; c1_unique: { p50_ms: number; p99_ms: number }; c1_paused?: { p50_ms: number; p99_ms: number }; c64: { rps: number } & Cpu; ttft: { p50_ms: number; p99_ms: number }; ttft_paced_5ms: { p50_ms: number; p99_ms: number } };
    const added = (name: string) => {
      const x = out[name] as typeof d | undefined;
      if (!x) return undefined;
      const ttft = (k: "ttft" | "ttft_paced_5ms", q: "p50_ms" | "p99_ms") => (typeof x[k]?.[q] === "number" && typeof d[k]?.[q] === "number" ? r3(x[k][q] - d[k][q]) : null);
      return {
        added_p50_ms: r3(x.c1.p50_ms - d.c1.p50_ms),
        added_p99_ms: r3(x.c1.p99_ms - d.c1.p99_ms),
        ...(x.c1_unique ? { added_p50_ms_unique_prompts: r3(x.c1_unique.p50_ms - d.c1_unique.p50_ms), added_p99_ms_unique_prompts: r3(x.c1_unique.p99_ms - d.c1_unique.p99_ms) } : {}),
        ...(x.c1_paused && d.c1_paused ? { added_p50_ms_paused: r3(x.c1_paused.p50_ms - d.c1_paused.p50_ms), added_p99_ms_paused: r3(x.c1_paused.p99_ms - d.c1_paused.p99_ms) } : {}),
        throughput_c64_rps: x.c64.rps,
        server_cpu_us_per_call: { c1: x.c1.server_cpu_us_per_call ?? null, c64: x.c64.server_cpu_us_per_call ?? null },
        throughput_ratio_vs_direct: r3(x.c64.rps / d.c64.rps),
        ttft_added_p50_ms: ttft("ttft", "p50_ms"),
        ttft_added_p99_ms: ttft("ttft", "p99_ms"),
        ttft_paced_added_p50_ms: ttft("ttft_paced_5ms", "p50_ms"),
        ttft_paced_added_p99_ms: ttft("ttft_paced_5ms", "p99_ms"),
      };
    };
    const tpx = added("tappass");
    const pkx = added("portkey");
    const pkn = added("portkey_node");
    return {
      setup: { requests_c1: N_SEQ, warmup_c1: WARMUP, requests_c64: N_CONC, concurrency: CONC, ttft_streams: N_TTFT, ttft_paced_streams: N_TTFT_PACED, block: BLOCK, body: "chat completion, ~60 prompt tokens, ~300-char answer", pipeline: "standard preset (all steps), one signed audit row per call" },
      raw: out,
      tappass: tpx,
      portkey: pkx ?? { error: errors.portkey },
      portkey_node: pkn ?? { error: errors.portkey_node },
      side_by_side:
        tpx && pkx
          ? {
              added_p50_ms: { tappass: tpx.added_p50_ms, portkey: pkx.added_p50_ms },
              added_p99_ms: { tappass: tpx.added_p99_ms, portkey: pkx.added_p99_ms },
              added_p50_ms_portkey_node: pkn?.added_p50_ms,
              added_p50_ms_paused: { tappass: tpx.added_p50_ms_paused, portkey: pkx.added_p50_ms_paused, portkey_node: pkn?.added_p50_ms_paused },
              added_p99_ms_paused: { tappass: tpx.added_p99_ms_paused, portkey: pkx.added_p99_ms_paused },
              throughput_c64_rps: { direct: d.c64.rps, tappass: tpx.throughput_c64_rps, portkey: pkx.throughput_c64_rps, portkey_node: pkn?.throughput_c64_rps, tappass_over_portkey: r3(tpx.throughput_c64_rps / pkx.throughput_c64_rps) },
              server_cpu_us_per_call_c64: { direct: d.c64.server_cpu_us_per_call ?? null, tappass: tpx.server_cpu_us_per_call.c64, portkey: pkx.server_cpu_us_per_call.c64, portkey_node: pkn?.server_cpu_us_per_call.c64 ?? null },
              ttft_added_p50_ms: { tappass: tpx.ttft_added_p50_ms, portkey: pkx.ttft_added_p50_ms },
              ttft_paced_added_p50_ms: { tappass: tpx.ttft_paced_added_p50_ms, portkey: pkx.ttft_paced_added_p50_ms },
              ttft_added_p99_ms: { tappass: tpx.ttft_added_p99_ms, portkey: pkx.ttft_added_p99_ms },
              ttft_paced_added_p99_ms: { tappass: tpx.ttft_paced_added_p99_ms, portkey: pkx.ttft_paced_added_p99_ms },
            }
          : undefined,
    };
  } finally {
    for (const p of procs.reverse()) {
      p.kill("SIGTERM");
      await Promise.race([p.exited, Bun.sleep(3000)]);
      if (p.exitCode === null) p.kill("SIGKILL");
    }
    for (const d of portkeyDirs) rmSync(d, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const child = process.argv.find((a) => a.startsWith("--child="))?.slice(8);
  const upstream = process.argv.find((a) => a.startsWith("--upstream="))?.slice(11);
  if (child === "fake") await childFake();
  else if (child === "tappass") await childTappass(upstream as string);
  else console.log(JSON.stringify(await gatewayBench(), null, 2));
}
